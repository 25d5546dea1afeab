"""allauth hooks: sign-up rules of the mall."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from accounts import rules, services
from accounts.devices import device_hash
from accounts.exceptions import InvalidTextError
from pointsmall.kernel.errors import DomainError, message_error, validation_error


class AccountAdapter(DefaultAccountAdapter):
    """The mall's allauth adapter. Sign-up rules live in accounts.forms.SignupForm and the receivers."""

    def clean_email(self, email: str) -> str:
        """Every address a member types (sign-up, adding an address, password reset) follows the
        member-text rule: a direction override or control character is refused, an invisible
        character removed. Django's e-mail check lets both through in the domain part (an
        international name may hold any character above U+00A0), and a zero-width space there
        would make a second spelling of one address."""
        try:
            email = rules.clean_member_text(email)
        except rules.UnsafeTextError:
            raise validation_error(InvalidTextError()) from None
        return super().clean_email(email)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """The mall's social-login adapter: a provider with no app configured is not found (404).

    The weixin, github and google providers are installed whatever the deployment configured;
    allauth raised ``SocialApp.DoesNotExist`` (a 500) for a provider without a ``SocialApp`` row
    when anyone opened its login, callback or token URL (issue #16: no request ends in a 500).
    """

    def get_provider(self, request: HttpRequest, provider, client_id=None):
        try:
            return super().get_provider(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404(f"social login {provider!r} is not configured") from None


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
        services.referral_bind(
            invitee_id=user_id, code=code, signup_ip=client_ip(request), device_hash=device_hash(request)
        )
    except DomainError as error:
        message_error(request, error, level=messages.WARNING)
