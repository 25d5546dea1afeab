"""One way to count an action per member or per client address and refuse it past a rate (docs/decisions/0051).

The counters are django-ratelimit's (``get_usage``), in the default cache: Redis, shared by
every process; while Redis is down each process counts on its own (pointsmall.cache,
docs/decisions/0036), so a limit never becomes unlimited and never locks everyone out.

A rate is django-ratelimit's ``"count/period"`` (``"30/m"``, ``"100/h"``, ``"10/5m"``): a fixed
window per key. ``rate_hit`` counts one action and raises ``RateLimitedError`` (429) once the
count is past the rate; the caller raises it on, and ``pointsmall.throttle`` answers it (a page
in the member's language, an htmx fragment or JSON, with ``Retry-After``). Call it before any
write: a refused request has written nothing.

Uploads (``accounts.uploads.rate``) and feedback (``pointsmall.content.rate``) keep their own
messages on the same counters; sign-up, password reset and e-mail confirmation are allauth's
(``ACCOUNT_RATE_LIMITS``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from allauth.account.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage

from pointsmall.kernel.errors import DomainError

# What a counter is kept per: "user" (the signed-in member), "ip" (the client's network, as
# ``client_network`` reads it), or a function (group, request) -> str for anything else.
Key = str | Callable[[str, HttpRequest], str]


_RATE = re.compile(r"^(\d+)/(\d*)([smhd])?$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_seconds(rate: str) -> int:
    """The window of a django-ratelimit rate, in seconds ("30/m" → 60, "10/5m" → 300). Raises
    ImproperlyConfigured for anything else (a setting with a typo fails loudly)."""
    match = _RATE.match(rate.strip())
    if match is None:
        raise ImproperlyConfigured(f"Not a rate (count/period): {rate!r}")
    return int(match.group(2) or 1) * _PERIODS[match.group(3) or "s"]


class RateLimitedError(DomainError):
    """Past a rate limit. ``retry_after``: whole seconds until the window ends (at least 1), or
    None when the counter does not say (allauth's limits): then the message names no time."""

    code = "rate_limited"
    default_message = _("Too many attempts. Try again later.")
    http_status = 429

    def __init__(self, *, seconds: int | None = None) -> None:
        if seconds is None:
            self.retry_after: int | None = None
            super().__init__()
            return
        self.retry_after = max(int(seconds), 1)
        minutes = -(-self.retry_after // 60)
        message = ngettext(
            "Too many attempts. Try again in %(minutes)s minute.",
            "Too many attempts. Try again in %(minutes)s minutes.",
            minutes,
        )
        super().__init__(message, minutes=minutes)


def client_network(request: HttpRequest) -> str:
    """The client's address for a rate limit, as sign-ups see it (allauth: behind a proxy,
    ``ALLAUTH_TRUSTED_PROXY_COUNT`` decides which X-Forwarded-For entry to trust), an IPv6
    address cut to its /64 like django-ratelimit's ``ip`` key (one client holds a whole /64).
    "" when unknown. Read for a transient cache counter or a risk flag's evidence."""
    try:
        ip = get_adapter(request).get_client_ip(request)
    except (PermissionDenied, ImproperlyConfigured):  # no address, or X-Forwarded-For shorter than promised
        return ""
    return ip_network_key(ip)


def ip_network_key(ip: str | None) -> str:
    """What one client is counted as: an IPv4 address exactly, an IPv6 address by its /64
    (the network address, ``2001:db8:1:2::``), the same cut as allauth's own limits
    (``ALLAUTH_RATE_LIMIT_IPV6_PREFIX``, 64) and django-ratelimit's ``ip`` key: one home or phone
    is given a whole /64 and picks any address in it. "" for no or a malformed address. Pure."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if address.version == 6:
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def _network_key(group: str, request: HttpRequest) -> str:
    return client_network(request)


def _user_key(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    return str(user.pk) if user is not None and user.is_authenticated else ""


def rate_usage(request: HttpRequest, *, group: str, key: Key, rate: str | None) -> dict[str, Any] | None:
    """Count one action in ``group`` (a stable name, e.g. "tasks.checkin") per ``key``; django-ratelimit's
    usage (``count``, ``limit``, ``should_limit``, ``time_left`` in seconds), or None when no rate
    applies (``rate`` empty or None, ``RATELIMIT_ENABLE`` off, an unknown key: no address, no member).
    Writes only the counter in the cache; each call counts one."""
    if not rate:
        return None
    key_function: Callable[[str, HttpRequest], str]
    if key == "user":
        key_function = _user_key
    elif key == "ip":
        key_function = _network_key
    elif callable(key):
        key_function = key
    else:
        raise ImproperlyConfigured(f"Unknown rate-limit key: {key!r}")
    if not key_function(group, request):
        return None
    usage: dict[str, Any] | None = get_usage(request, group=group, key=key_function, rate=rate, increment=True)
    return usage


def rate_hit(request: HttpRequest, *, group: str, key: Key, rate: str | None) -> None:
    """Count one action (``rate_usage``) and raise ``RateLimitedError`` when this one is past ``rate``
    (the first ``count`` of each window pass, the rest are refused until it ends). Refused
    attempts count too: a script that keeps sending stays refused. Not idempotent."""
    usage = rate_usage(request, group=group, key=key, rate=rate)
    if usage is not None and usage["should_limit"]:
        raise RateLimitedError(seconds=int(usage["time_left"]))
