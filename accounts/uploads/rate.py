"""How many pictures one member may upload in a while, counted in the Django cache (django-ratelimit).

While Redis is down the cache counts in each process instead (pointsmall.cache,
docs/decisions/0036): the limit holds per process, and uploads keep working.

Every picture a member sends costs a decode (bounded, ~0.5 s at worst: ``accounts.uploads.images``),
refused or not; the rate bounds how many of those one account can make the server do.
Operators' uploads in the admin are not counted.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from accounts.uploads.exceptions import UploadRateLimitedError

# One budget for every kind of member upload (avatar, review photo): each costs the same decode.
GROUP = "uploads.member-pictures"


def upload_count(*, request: HttpRequest) -> None:
    """Count one picture upload by the signed-in member; raise UploadRateLimitedError past ``UPLOAD_RATE_LIMIT``.

    ``UPLOAD_RATE_LIMIT`` is django-ratelimit's "count/period" (default "20/h", a fixed window
    per member). Call it before decoding, once per uploaded picture: a refused request is
    counted too (its decode was the cost). Writes only the counter in the cache. Not idempotent:
    each call counts one upload.
    """
    usage = get_usage(request, group=GROUP, key="user", rate=settings.UPLOAD_RATE_LIMIT, increment=True)
    if usage is not None and usage["should_limit"]:
        seconds = max(usage["time_left"], 60)
        raise UploadRateLimitedError(minutes=-(-seconds // 60))
