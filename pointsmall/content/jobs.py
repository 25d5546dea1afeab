"""Celery entry points of the content app."""

from celery import shared_task

from pointsmall.content import services


@shared_task(name="content.announcements_publish", acks_late=True)
def announcements_publish() -> int:
    """Send announcements whose window started to their audience's inboxes (beat: every minute)."""
    return services.announcements_publish()
