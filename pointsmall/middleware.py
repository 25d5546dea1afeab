"""Project-wide middleware."""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _


class AdminAccessMiddleware:
    """The gate in front of the admin: members get a 403 page, staff may need a second factor.

    A signed-in member (not staff, or no longer active) opening any ``/admin/`` page gets a
    403 in the mall's design. Without this, Django's admin sends them to the admin login,
    which is allauth's login (urls.py), which sees a signed-in user and sends them back to
    ``/admin/``: an endless redirect loop. Anonymous visitors still go to the login.

    When ADMIN_REQUIRE_MFA is on, staff without an enrolled authenticator are sent to enrol
    one. Admin logins go through allauth, so staff with TOTP enrolled have already passed the
    second factor; this covers staff who never enrolled one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(reverse("admin:index")) and request.user.is_authenticated:
            user = request.user
            if not admin.site.has_permission(request):
                return render(request, "errors/403_staff_only.html", status=403)
            if settings.ADMIN_REQUIRE_MFA and not is_mfa_enabled(user):
                messages.warning(request, _("Set up two-factor authentication before using the admin."))
                return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
