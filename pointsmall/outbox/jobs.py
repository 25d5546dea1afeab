"""Celery jobs of the job outbox (beat: settings.CELERY_BEAT_SCHEDULE). docs/decisions/0038."""

from __future__ import annotations

from pointsmall.kernel.jobs import job
from pointsmall.outbox import services


@job(
    name="outbox.jobs_relay",
    idempotent="claims each due row first (SKIP LOCKED, the next attempt pushed back as its lease); "
    "a row is published again only after its lease lapsed without a worker marking it done, and the "
    "jobs it carries are idempotent themselves",
    soft_time_limit=50,
    time_limit=60,
)
def jobs_relay() -> dict[str, int]:
    """Relay the jobs still unsent (a relay after commit that met the broker away, a lapsed claim)
    and those sent whose run no worker reported within the lease (the broker lost them)."""
    return services.jobs_relay()


@job(name="outbox.jobs_purge", idempotent="deletes done rows by age: a second run deletes nothing more")
def jobs_purge() -> int:
    """Delete jobs done more than a week ago."""
    return services.jobs_purge()
