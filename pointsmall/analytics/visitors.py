"""Who a visitor is, for counting unique visitors: the member, else a first-party cookie.

The cookie is signed (``set_signed_cookie``, salt ``COOKIE_SALT``): only a value the mall issued
on a counted page view is a visitor, so a made-up one is nobody (and is replaced on the next
counted view). No IP address is stored; the beacon's per-client rate limit reads it
(``client_network``) for a counter in the cache that expires with its window. The id that
reaches Redis or the database is a keyed hash (HMAC of SECRET_KEY), so neither holds a member id
or the cookie's value. A visitor who browses
anonymously and then signs in on the same day counts as two visitors for that day
(docs/decisions/0028).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from pointsmall.kernel import ratelimit

COOKIE_NAME = "pm_vid"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Signing salt: a value signed for anything else in the project is not a visitor id.
COOKIE_SALT = "pointsmall.analytics.visitor"
_COOKIE_VALUE = re.compile(r"[0-9a-f]{32}")


def _hash(raw: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def cookie_value(request: HttpRequest) -> str | None:
    """The request's pm_vid value when the mall issued it: signed with ``COOKIE_SALT``, the
    signature at most ``COOKIE_MAX_AGE`` old, 32 hex characters. None for anything else — no
    cookie, a made-up or tampered one, or an unsigned one from before signing."""
    value = request.get_signed_cookie(COOKIE_NAME, default=None, salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE)
    return value if value is not None and _COOKIE_VALUE.fullmatch(value) else None


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
    """Signed (``COOKIE_SALT``), first-party, one year, HttpOnly, SameSite=Lax, Secure outside DEBUG."""
    response.set_signed_cookie(
        COOKIE_NAME,
        value,
        salt=COOKIE_SALT,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=not settings.DEBUG,
    )


def signed_value(value: str) -> str:
    """The cookie text ``set_cookie`` sends for ``value`` (for the benchmark's returning visitors)."""
    return signing.get_cookie_signer(salt=COOKIE_NAME + COOKIE_SALT).sign(value)


def client_network(request: HttpRequest) -> str:
    """The client's network for a rate limit: ``pointsmall.kernel.ratelimit.client_network``."""
    return ratelimit.client_network(request)
