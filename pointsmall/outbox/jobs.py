"""Celery jobs of the job outbox (beat: settings.CELERY_BEAT_SCHEDULE). docs/decisions/0038."""

from __future__ import annotations

from celery import shared_task

from pointsmall.outbox import services


@shared_task(name="outbox.jobs_relay", acks_late=True, soft_time_limit=50, time_limit=60)
def jobs_relay() -> dict[str, int]:
    """Relay the jobs still unsent (a relay after commit that met the broker away, a lapsed claim)."""
    return services.jobs_relay()


@shared_task(name="outbox.jobs_purge", acks_late=True, soft_time_limit=240, time_limit=300)
def jobs_purge() -> int:
    """Delete sent jobs older than a week."""
    return services.jobs_purge()
