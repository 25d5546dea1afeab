"""Celery entry point of traffic analytics: ``analytics.rollup`` ↔ ``manage.py analytics_rollup``."""

from __future__ import annotations

from datetime import date

from pointsmall.analytics import services
from pointsmall.analytics.exceptions import StoreUnavailableError
from pointsmall.kernel.jobs import job


def rollup_days(days: list[date]) -> list[services.RollupReport]:
    """Roll up each day (newest first), then purge fallback rows that left the live window.
    Raises StoreUnavailableError when Redis is configured and down (nothing is overwritten)."""
    reports = [services.traffic_rollup(day=day) for day in days]
    services.raw_purge()
    return reports


@job(
    name="analytics.rollup",
    idempotent="writes each day's absolute figures (not increments); the purge deletes by age",
    retry_for=(StoreUnavailableError,),
)
def rollup() -> dict:
    """Today and yesterday. Safe to run twice: the same absolute figures are written."""
    reports = rollup_days(services.live_days()[:2])
    return {report.day.isoformat(): report.views for report in reports}
