"""Project-wide middleware."""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


class AdminMFAMiddleware:
    """Keep staff without an enrolled authenticator out of the admin when ADMIN_REQUIRE_MFA is on.

    Admin logins go through allauth (see urls.py), so a staff member with TOTP enrolled has
    already passed the second factor; this gate covers staff who never enrolled one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.ADMIN_REQUIRE_MFA and request.path.startswith("/admin/"):
            user = request.user
            if user.is_authenticated and user.is_staff and not is_mfa_enabled(user):
                messages.warning(request, _("Set up two-factor authentication before using the admin."))
                return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
