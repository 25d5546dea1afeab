"""How much feedback one member may send in a while, counted in the Django cache (django-ratelimit).

While Redis is down the cache counts in each process instead (pointsmall.cache,
docs/decisions/0036): the limit holds per process, and sending feedback keeps working.

Only accepted feedback counts: the view checks the count before the form (``feedback_check``,
counting nothing) and counts one after a successful submit (``feedback_count``). A refused post
(too short, bad contact, bad screenshot) costs the member nothing here; it writes nothing and
decodes no picture unless the rest of the form is valid (a decoded picture is counted against
the upload budget, ``accounts.uploads.rate``), so it needs no budget of its own.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from pointsmall.content.exceptions import FeedbackRateLimitedError

GROUP = "content.feedback"


def _usage(request: HttpRequest, *, increment: bool) -> dict | None:
    return get_usage(request, group=GROUP, key="user", rate=settings.FEEDBACK_RATE_LIMIT, increment=increment)


def feedback_check(*, request: HttpRequest) -> None:
    """Raise FeedbackRateLimitedError when the signed-in member has already sent
    ``FEEDBACK_RATE_LIMIT`` (default "5/h", a fixed window per member) accepted feedback in this
    window. Counts nothing. (Two posts at the very same moment may both pass: one extra at most
    per concurrent request, which the limit tolerates.)"""
    usage = _usage(request, increment=False)
    # Not django-ratelimit's should_limit (count > limit): that would let one more through. A
    # cache that fails answers count 0, limit 0: refused, as the rest of the project does.
    if usage is not None and usage["count"] >= usage["limit"]:
        seconds = max(usage["time_left"], 60)
        raise FeedbackRateLimitedError(minutes=-(-seconds // 60))


def feedback_count(*, request: HttpRequest) -> None:
    """Count one accepted feedback by the signed-in member (call after ``services.feedback_submit``
    returned). Writes only the counter in the cache. Not idempotent: each call counts one."""
    _usage(request, increment=True)
