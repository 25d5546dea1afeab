"""The device cookie: a long-lived, signed, random id per browser, a fraud signal (docs/decisions/0056).

Given out on the pages where members sign up and sign in (allauth's ``/accounts/`` pages) and to
signed-in members; a signed-out visitor browsing the catalogue gets none, so public pages stay
cacheable and cookie-free. The raw id never reaches the database: sign-ups and sign-ins store
``device_hash``, the keyed identity hash of ``device:<id>`` (points.services.identity_hash, 0008).

Clearing cookies (or a private window, or a script that keeps none) gives a new id: the cookie
raises the cost of farming from one phone, it does not stop it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from points import services as points_services

COOKIE_NAME = "pm_device"
COOKIE_SALT = "accounts.devices"
COOKIE_MAX_AGE = 2 * 365 * 24 * 3600  # two years: a phone keeps its id across many sign-ins
# Where the cookie is given to a signed-out visitor: sign-up, sign-in and their neighbours.
COOKIE_PATHS = ("/accounts/",)


def device_id_of(request: HttpRequest) -> str:
    """The id from a validly signed cookie, or "" (none, or tampered with)."""
    value = request.get_signed_cookie(COOKIE_NAME, default="", salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE)
    return value if isinstance(value, str) and 16 <= len(value) <= 64 else ""


def device_hash(request: HttpRequest | None) -> str:
    """The keyed hash of this browser's device id ("" when it has none: no cookie and none given yet)."""
    device_id = getattr(request, "device_id", "") if request is not None else ""
    return points_services.identity_hash(f"device:{device_id}") if device_id else ""


class DeviceCookieMiddleware:
    """Sets ``request.device_id`` (the cookie's id, or a new one on the sign-up and sign-in pages and
    for signed-in members) and sends a new cookie with the response. HttpOnly, SameSite=Lax,
    Secure where the session cookie is (production). Sits after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        device_id = device_id_of(request)
        fresh = False
        if not device_id and self._wanted(request):
            device_id, fresh = secrets.token_urlsafe(18), True
        request.device_id = device_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        if fresh or (not device_id and self._wanted(request)):
            # A sign-in during this request makes the member wanted now: give the id then.
            device_id = device_id or secrets.token_urlsafe(18)
            response.set_signed_cookie(
                COOKIE_NAME,
                device_id,
                salt=COOKIE_SALT,
                max_age=COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    @staticmethod
    def _wanted(request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        return request.path.startswith(COOKIE_PATHS) or (user is not None and user.is_authenticated)
