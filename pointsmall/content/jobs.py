"""Celery entry points of the content app."""

from pointsmall.content import services
from pointsmall.kernel.jobs import job


@job(
    name="content.announcements_publish",
    idempotent="claims each announcement (SKIP LOCKED, published_at) with its messages; inbox dedupe key",
)
def announcements_publish() -> int:
    """Send announcements whose window started to their audience's inboxes (beat: every minute)."""
    return services.announcements_publish()
