"""How much feedback one member may send in a while, counted in the Django cache (django-ratelimit)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from pointsmall.content.exceptions import FeedbackRateLimitedError

GROUP = "content.feedback"


def feedback_count(*, request: HttpRequest) -> None:
    """Count one feedback post by the signed-in member; raise FeedbackRateLimitedError past
    ``FEEDBACK_RATE_LIMIT`` (default "5/h", a fixed window per member). Every post counts,
    refused or not. Writes only the counter in the cache."""
    usage = get_usage(request, group=GROUP, key="user", rate=settings.FEEDBACK_RATE_LIMIT, increment=True)
    if usage is not None and usage["should_limit"]:
        seconds = max(usage["time_left"], 60)
        raise FeedbackRateLimitedError(minutes=-(-seconds // 60))
