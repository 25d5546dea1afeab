"""Celery jobs of the host integration (beat: settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from pointsmall.integration import services


@shared_task(name="integration.nonces_purge", soft_time_limit=60, time_limit=90)
def nonces_purge() -> int:
    """Delete used nonces past the signature window. Idempotent."""
    return services.nonces_purge()
