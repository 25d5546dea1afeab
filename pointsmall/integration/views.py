"""The login link a host sends its members through (免登录): ``GET /sso/login``."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.contrib.auth import get_user_model, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.adapters import client_ip
from pointsmall.integration import services
from pointsmall.integration.exceptions import LinkIncompleteError, RedirectNotAllowedError
from pointsmall.kernel.errors import DomainError

LOGIN_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"

_INVALID = (400, _("This login link is not valid."))
# The error's code → (status, what the member reads).
REFUSALS = {
    "stale_timestamp": (401, _("This login link has expired.")),
    "nonce_reused": (401, _("This login link has already been used.")),
    "bad_signature": (401, _INVALID[1]),
    "unknown_client": (401, _INVALID[1]),
    "invalid_nonce": (400, _INVALID[1]),
    "link_incomplete": _INVALID,
    "redirect_not_allowed": (400, _("This login link leads outside the mall, so it is not followed.")),
    "client_disabled": (403, _("Signing in from this shop is switched off at the moment.")),
    "address_not_allowed": (403, _INVALID[1]),
    "member_unavailable": (403, _("This account cannot sign in through a shop's link.")),
    "member_inactive": (403, _("This account is closed and cannot sign in.")),
}


def safe_redirect(value: str | None) -> str:
    """The mall path a login link may lead to ("/" when none is given). Raises
    RedirectNotAllowedError for anything else: another site (absolute or scheme-relative URL,
    backslash tricks), a control character, a ``.`` or ``..`` path segment (a browser resolves
    ``/./admin/`` to ``/admin/``, past the back-office check; no mall page needs one), or the
    back office (members never land there)."""
    if not value:
        return "/"
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(char) < 32 or ord(char) == 127 for char in value)
        or not url_has_allowed_host_and_scheme(value, allowed_hosts=None)
    ):
        raise RedirectNotAllowedError()
    path = unquote(urlsplit(value).path).lower()
    if (
        path.startswith("//")
        or "\\" in path
        or any(segment in (".", "..") for segment in path.split("/"))
        or path == "/admin"
        or path.startswith("/admin/")
    ):
        raise RedirectNotAllowedError()
    return value


def _refuse(request: HttpRequest, error: DomainError) -> HttpResponse:
    status, reason = REFUSALS.get(error.code, _INVALID)
    return render(request, "integration/sso_error.html", {"reason": reason, "status": status}, status=status)


@never_cache
@require_GET
def sso_login(request: HttpRequest) -> HttpResponse:
    """Sign the host's member in and send them to ``redirect`` (docs/integration.md, "Login links").

    A refused link renders a page saying why (expired, already used, not valid, switched off)
    and writes nothing: no member, no spent nonce, no session.
    """
    params: dict[str, str] = {name: str(value) for name, value in request.GET.items()}
    try:
        if any(len(values) > 1 for _name, values in request.GET.lists()):
            # A repeated parameter could mean one thing to the signature and another to us.
            raise LinkIncompleteError()
        target = safe_redirect(params.get("redirect"))
        user_id = services.sso_login_member(params=params, ip=client_ip(request))
    except DomainError as error:
        return _refuse(request, error)
    if request.user.is_authenticated and request.user.pk != user_id:
        # Another member signed in on this browser: their session ends before this one starts.
        logout(request)
    elif request.user.is_authenticated:
        # login() keeps the key of the same member's session; a login link always rotates it.
        request.session.cycle_key()
    # login() gives a fresh session a new key (no fixation through a planted cookie).
    login(request, get_user_model().objects.get(pk=user_id), backend=LOGIN_BACKEND)
    return HttpResponseRedirect(target)
