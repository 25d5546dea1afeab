"""Celery entry point of the dashboard: the roll-up of today and yesterday (every 10 minutes)."""

from __future__ import annotations

from celery import shared_task

from pointsmall.dashboard.services import dashboard_rollup


@shared_task(name="dashboard.rollup", acks_late=True)
def rollup(days: int = 2) -> int:
    """Recompute the last ``days`` business days' figures (default today and yesterday)."""
    return dashboard_rollup(days=days)
