"""Reads of the host integration."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from accounts import selectors as accounts_selectors
from pointsmall.integration import vault
from pointsmall.integration.exceptions import MemberNotFoundError, MemberUnavailableError
from pointsmall.integration.models import Client, ClientSecret, HostMember


def client_secrets_live(*, client_id: int, now: datetime | None = None) -> list[str]:
    """The client's secrets that still sign and verify, newest first (two during a rotation's overlap)."""
    now = now or timezone.now()
    rows = ClientSecret.objects.filter(Q(retires_at__isnull=True) | Q(retires_at__gt=now), client_id=client_id)
    return [vault.unseal(token) for token in rows.order_by("-created_at", "-pk").values_list("encrypted", flat=True)]


def client_by_key(*, key_id: str) -> Client | None:
    return Client.objects.filter(key_id=key_id).first()


def member_user_id(*, client_id: int, external_id: str) -> int:
    """The mall user id of the client's member ``external_id``, one the integration may act for.

    Every API endpoint that names a member resolves it here, so all of them refuse alike:
    MemberNotFoundError (404) for an id the client never linked, MemberUnavailableError (409)
    for an account that has a back-office role or was deactivated since it was linked (the
    host learns only that it may not use it; nothing is written)."""
    user_id = (
        HostMember.objects.filter(client_id=client_id, external_id=external_id)
        .values_list("user_id", flat=True)
        .first()
    )
    if user_id is None:
        raise MemberNotFoundError()
    member_check_usable(user_id=user_id)
    return user_id


def member_check_usable(*, user_id: int, inactive_error: type[Exception] = MemberUnavailableError) -> None:
    """Raise MemberUnavailableError when the integration may not act for this account: any
    back-office role (accounts.selectors.privileged_q); ``inactive_error`` (MemberUnavailableError
    unless given, MemberInactiveError for a login link) when the account is deactivated."""
    if accounts_selectors.is_privileged(user_id=user_id):
        raise MemberUnavailableError()
    if not accounts_selectors.is_active(user_id=user_id):
        raise inactive_error()


def member_external_ids(*, user_id: int) -> dict[int, str]:
    """``{client_id: external_id}``: the ids the hosts know this member by (for webhooks)."""
    return dict(HostMember.objects.filter(user_id=user_id).values_list("client_id", "external_id"))


def member_is_host_brought(user_id: int) -> bool:
    """True when a host system knows this member (accounts' sign-up bonus exemption, decision 0035)."""
    return HostMember.objects.filter(user_id=user_id).exists()
