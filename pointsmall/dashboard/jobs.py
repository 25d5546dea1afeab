"""Celery entry point of the dashboard: the roll-up of today and yesterday (every 10 minutes)."""

from __future__ import annotations

from pointsmall.dashboard.services import dashboard_rollup
from pointsmall.kernel.jobs import job


@job(
    name="dashboard.rollup",
    idempotent="recomputes absolute figures, upserted on (day, metric, dimension)",
)
def rollup(days: int = 2) -> int:
    """Recompute the last ``days`` business days' figures (default today and yesterday)."""
    return dashboard_rollup(days=days)
