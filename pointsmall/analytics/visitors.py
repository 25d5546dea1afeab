"""Who a visitor is, for counting unique visitors: the member, else a first-party cookie.

No IP address is read or stored. The id that reaches Redis or the database is a keyed hash
(HMAC of SECRET_KEY), so neither holds a member id or the cookie's value. A visitor who browses
anonymously and then signs in on the same day counts as two visitors for that day
(docs/decisions/0028).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "pm_vid"
COOKIE_MAX_AGE = 365 * 24 * 3600
_COOKIE_VALUE = re.compile(r"[0-9a-f]{32}")


def _hash(raw: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def cookie_value(request: HttpRequest) -> str | None:
    """The request's pm_vid cookie when it is well formed."""
    value = request.COOKIES.get(COOKIE_NAME, "")
    return value if _COOKIE_VALUE.fullmatch(value) else None


def visitor_of(request: HttpRequest) -> tuple[str | None, str | None]:
    """(visitor hash, new cookie value to set or None). The hash is None for an anonymous
    request without a cookie when ``new`` is False: see ``visitor_for_view``."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return _hash(f"m:{user.pk}"), None
    value = cookie_value(request)
    if value is not None:
        return _hash(f"c:{value}"), None
    return None, None


def visitor_for_view(request: HttpRequest) -> tuple[str, str | None]:
    """The visitor hash for a counted page view, minting a pm_vid cookie value when needed."""
    visitor, _ = visitor_of(request)
    if visitor is not None:
        return visitor, None
    value = secrets.token_hex(16)
    return _hash(f"c:{value}"), value


def set_cookie(response: HttpResponse, value: str) -> None:
    """First-party, one year, HttpOnly, SameSite=Lax, Secure outside DEBUG."""
    response.set_cookie(
        COOKIE_NAME, value, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax", secure=not settings.DEBUG
    )
