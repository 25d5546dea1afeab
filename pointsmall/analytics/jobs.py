"""Celery entry point of traffic analytics: ``analytics.rollup`` ↔ ``manage.py analytics_rollup``."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from pointsmall.analytics import services


def rollup_days(days: list[date]) -> list[services.RollupReport]:
    """Roll up each day (newest first), then purge fallback rows that left the live window.
    Raises StoreUnavailableError when Redis is configured and down (nothing is overwritten)."""
    reports = [services.traffic_rollup(day=day) for day in days]
    services.raw_purge()
    return reports


@shared_task(name="analytics.rollup", acks_late=True)
def rollup() -> dict:
    """Today and yesterday. Safe to run twice: the same absolute figures are written."""
    reports = rollup_days(services.live_days()[:2])
    return {report.day.isoformat(): report.views for report in reports}
