"""allauth hooks: sign-up rules of the mall."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts import services
from points.exceptions import DomainError


class AccountAdapter(DefaultAccountAdapter):
    """The mall's allauth adapter. Sign-up rules live in accounts.forms.SignupForm and the receivers."""


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's IP address as allauth sees it (ALLAUTH_TRUSTED_PROXY_COUNT decides whom to trust)."""
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return None


def bind_invite(request: HttpRequest, *, user_id: int, code: str) -> None:
    """Bind a member who has just signed up to their inviter. A refusal never stops the sign-up:
    the member is told why on the next page and is simply not bound."""
    try:
        services.referral_bind(invitee_id=user_id, code=code, signup_ip=client_ip(request))
    except DomainError as error:
        messages.warning(request, error.message)
