"""Writes of the host integration: clients and their secrets, checking a signed request."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import exceptions as accounts_exceptions
from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.exceptions import EmailInUseError
from pointsmall.integration import selectors, signing, vault
from pointsmall.integration.exceptions import (
    AddressNotAllowedError,
    BadSignatureError,
    ClientDisabledError,
    InvalidAllowedIpsError,
    InvalidNonceError,
    LinkIncompleteError,
    MemberInactiveError,
    NonceReusedError,
    StaleTimestampError,
    UnknownClientError,
)
from pointsmall.integration.models import Client, ClientSecret, HostMember, UsedNonce

NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Unix seconds as sent by a host: ASCII digits without a leading zero, sign, space or underscore.
TIMESTAMP_PATTERN = re.compile(r"[1-9][0-9]{0,11}")
# The host's ids (members, orders, refunds, holds): docs/integration.md.
EXTERNAL_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(text: str) -> list[IpNetwork]:
    """The networks of an allowed-IPs field (one address or CIDR per line; ``#`` starts a comment).
    Raises InvalidAllowedIpsError naming the first bad line."""
    networks = []
    for line in text.splitlines():
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise InvalidAllowedIpsError(value=value[:60]) from None
    return networks


@transaction.atomic
def client_create(*, name: str, allowed_ips: str = "", enabled: bool = True) -> tuple[Client, str]:
    """Create a client with a new key id and secret. Returns ``(client, secret)``: the secret is
    shown to the operator once and never again (only its encrypted form is stored)."""
    allowed_networks(allowed_ips)
    client = Client.objects.create(name=name, key_id=vault.new_key_id(), allowed_ips=allowed_ips, enabled=enabled)
    secret = vault.new_secret()
    ClientSecret.objects.create(client=client, encrypted=vault.seal(secret))
    return client, secret


@transaction.atomic
def client_secret_rotate(*, client_id: int, overlap_hours: int | None = None, now: datetime | None = None) -> str:
    """Issue a new secret; the current ones keep working for ``overlap_hours`` (default
    INTEGRATION_SECRET_OVERLAP_HOURS; 0 retires them at once). Returns the new secret (shown once)."""
    now = now or timezone.now()
    hours = settings.INTEGRATION_SECRET_OVERLAP_HOURS if overlap_hours is None else max(0, overlap_hours)
    client = Client.objects.select_for_update().get(pk=client_id)
    retire_at = now + timedelta(hours=hours)
    live = ClientSecret.objects.filter(client=client).exclude(retires_at__lte=now)
    # A secret already retiring sooner keeps its earlier end: rotating never extends an old secret.
    live.filter(retires_at__isnull=True).update(retires_at=retire_at)
    live.filter(retires_at__gt=retire_at).update(retires_at=retire_at)
    secret = vault.new_secret()
    ClientSecret.objects.create(client=client, encrypted=vault.seal(secret), created_at=now)
    return secret


def client_check_access(*, key_id: str, ip: str | None, check_address: bool = True) -> Client:
    """The enabled client with ``key_id``, called from an allowed address.
    Raises UnknownClientError (401), ClientDisabledError (403), AddressNotAllowedError (403)."""
    client = selectors.client_by_key(key_id=key_id) if key_id else None
    if client is None:
        raise UnknownClientError()
    if not client.enabled:
        raise ClientDisabledError()
    networks = allowed_networks(client.allowed_ips) if check_address else []
    if networks:
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            raise AddressNotAllowedError() from None
        if not any(address in network for network in networks):
            raise AddressNotAllowedError()
    return client


def check_timestamp(timestamp: str, *, now: datetime | None = None) -> None:
    """Raises StaleTimestampError unless ``timestamp`` (Unix seconds) is within 5 minutes of now."""
    now = now or timezone.now()
    # ASCII digits only: int() would also take "1_767_225_600", " 1767225600", "+1767225600" and
    # other scripts' digits, so one signed value would have many spellings.
    if not isinstance(timestamp, str) or not TIMESTAMP_PATTERN.fullmatch(timestamp):
        raise StaleTimestampError()
    seconds = int(timestamp)
    if abs(now.timestamp() - seconds) > signing.MAX_AGE_SECONDS:
        raise StaleTimestampError()


def nonce_use(*, client: Client, nonce: str, now: datetime | None = None) -> None:
    """Spend ``nonce`` for ``client``: raises NonceReusedError if it was spent before.
    Commits on its own, before the request's work: a replay is refused even while the first
    request is still running."""
    try:
        with transaction.atomic():
            UsedNonce.objects.create(client=client, nonce=nonce, created_at=now or timezone.now())
    except IntegrityError:
        raise NonceReusedError() from None


def signed_call_verify(
    *,
    key_id: str,
    timestamp: str,
    nonce: str,
    signature: str,
    message: str | bytes,
    ip: str | None,
    check_address: bool = True,
    now: datetime | None = None,
) -> Client:
    """Check a signed API request or login link and spend its nonce. Returns the client.

    Order: client (401 unknown; 403 disabled or address), timestamp (401), nonce format (401),
    signature (401), then the nonce is spent (401 if reused). Nothing is written for a request
    that fails before the last step, so a forger cannot burn a host's nonces.
    """
    client = client_check_access(key_id=key_id, ip=ip, check_address=check_address)
    check_timestamp(timestamp, now=now)
    if not NONCE_PATTERN.fullmatch(nonce or ""):
        raise InvalidNonceError()
    if not signature or not signing.matches(
        selectors.client_secrets_live(client_id=client.pk, now=now), message, signature
    ):
        raise BadSignatureError()
    nonce_use(client=client, nonce=nonce, now=now)
    return client


def nonces_purge(*, now: datetime | None = None) -> int:
    """Delete used nonces older than twice the signature window (they fail the age check anyway)."""
    now = now or timezone.now()
    deleted, _ = UsedNonce.objects.filter(created_at__lt=now - timedelta(seconds=2 * signing.MAX_AGE_SECONDS)).delete()
    return deleted


# --- Members the host manages (docs/decisions/0035) ---------------------------------------

MEMBER_FIELDS = ("email", "email_verified", "phone", "phone_verified", "display_name", "language")


def _placeholder(*, client_id: int, external_id: str) -> str:
    """The local part of the stand-in address of a member created without an e-mail: the same
    for the same host id, so two racing first requests collide on the unique e-mail column."""
    digest = hashlib.sha256(f"{client_id}:{external_id}".encode()).hexdigest()[:20]
    return f"h{client_id}-{digest}"


def _link(*, client_id: int, external_id: str) -> HostMember | None:
    return HostMember.objects.select_for_update().filter(client_id=client_id, external_id=external_id).first()


@transaction.atomic
def host_member_put(*, client_id: int, external_id: str, fields: Mapping[str, Any]) -> tuple[int, bool]:
    """Create, update or link the client's member ``external_id``. Returns ``(user_id, created)``.

    ``fields``: the keys of MEMBER_FIELDS the host sent (left out: unchanged).

    * Linked already: the given fields are applied to that member.
    * Not linked, and the e-mail belongs to a mall account: linked to it only when the host says
      the address is verified, the mall verified it too, the account is active, has no
      back-office role (accounts.selectors.privileged_q) and no host links it yet (neither this client under
      another id nor another client: an address on a host-linked account may be verified only on
      a host's word); otherwise EmailInUseError (409, the same answer whatever the reason).
    * Otherwise a new member (accounts.services.host_member_create), linked.

    An account with a back-office role is never linked, updated or logged in
    (MemberUnavailableError, 409, for an id linked before the account got the role or was
    closed: pointsmall.integration.selectors.member_check_usable). Raises the accounts errors
    (InvalidEmailError, InvalidPhoneError, InvalidTextError: 422; EmailInUseError, PhoneInUseError: 409). Locks the
    link row, then the user row. Safe to call twice and concurrently: the HostMember unique
    constraints and the member's unique e-mail let one first request win; the other applies its
    fields to the member the winner made.
    """
    values = {name: fields[name] for name in MEMBER_FIELDS if name in fields}
    link = _link(client_id=client_id, external_id=external_id)
    if link is not None:
        return _update_linked(user_id=link.user_id, values=values), False
    email = values.get("email")
    if email:
        email = accounts_services.host_member_email_clean(email)
        holder = accounts_selectors.email_holder(email=email)
        if holder is not None:
            linked_as = (
                HostMember.objects.filter(client_id=client_id, user_id=holder.user_id)
                .values_list("external_id", flat=True)
                .first()
            )
            if linked_as == external_id:
                # A concurrent first request for this id made the member a moment ago.
                return _after_race(client_id=client_id, external_id=external_id, values=values)
            if (
                holder.privileged
                or not (values.get("email_verified") and holder.verified)
                or not accounts_selectors.is_active(user_id=holder.user_id)
            ):
                raise EmailInUseError()
            if HostMember.objects.filter(user_id=holder.user_id).exists():
                # A host links this account already (this client under another id, or another
                # client): its verified address may be only that host's word, and a second host
                # must not reach a member the first one manages. Same answer as for staff.
                raise EmailInUseError()
            try:
                with transaction.atomic():
                    HostMember.objects.create(client_id=client_id, external_id=external_id, user_id=holder.user_id)
            except IntegrityError:
                return _after_race(client_id=client_id, external_id=external_id, values=values)
            # The address is already theirs (verified on both sides): it stays as it is.
            rest = {name: value for name, value in values.items() if name not in ("email", "email_verified")}
            return _update_linked(user_id=holder.user_id, values=rest), False
    try:
        with transaction.atomic():
            user_id = accounts_services.host_member_create(
                placeholder=_placeholder(client_id=client_id, external_id=external_id),
                email=values.get("email") or None,
                email_verified=bool(values.get("email_verified")),
                phone=values.get("phone") or None,
                phone_verified=bool(values.get("phone_verified")),
                display_name=values.get("display_name") or "",
                language=values.get("language") or "",
            )
            HostMember.objects.create(client_id=client_id, external_id=external_id, user_id=user_id)
    except IntegrityError:
        return _after_race(client_id=client_id, external_id=external_id, values=values)
    return user_id, True


def _update_linked(*, user_id: int, values: Mapping[str, Any]) -> int:
    # The same gate as every other endpoint: a back-office role or a closed account → 409.
    selectors.member_check_usable(user_id=user_id)
    accounts_services.host_member_update(user_id=user_id, **values)
    return user_id


def _after_race(*, client_id: int, external_id: str, values: Mapping[str, Any]) -> tuple[int, bool]:
    """A concurrent request created this member (or took the address) first: apply the fields to
    its member, or answer 409 when the collision was another account's e-mail or phone."""
    link = _link(client_id=client_id, external_id=external_id)
    if link is None:
        email = values.get("email")
        if (
            email
            and accounts_selectors.email_holder(email=accounts_services.host_member_email_clean(email)) is not None
        ):
            raise EmailInUseError()
        raise accounts_exceptions.PhoneInUseError()
    return _update_linked(user_id=link.user_id, values=values), False


# --- Login links (/sso/login) --------------------------------------------------------------

LINK_PARAMS = ("key", "uid", "ts", "nonce", "sign")
# Every parameter a login link may carry: anything else refuses the link (docs/integration.md),
# so no parameter the mall ignores can ride along under the signature.
LINK_ALLOWED_PARAMS = frozenset({*LINK_PARAMS, "redirect"})


@transaction.atomic
def sso_login_member(*, params: Mapping[str, str], ip: str | None, now: datetime | None = None) -> int:
    """Check a login link's parameters and return the member to sign in, creating and linking
    one (no e-mail) when the client does not know ``uid`` yet.

    The same checks as a signed API call (signed_call_verify over ``signing.link_string``), but
    not the client's allowed IPs: those are the host's servers, and a member's browser opens
    the link. One
    transaction: a refusal after the nonce was spent (a staff or closed account) rolls the nonce
    and any new member back, so a refused link writes nothing. Raises LinkIncompleteError (400),
    the signature errors (401/403), MemberUnavailableError (403 here), MemberInactiveError (403).
    LinkIncompleteError also for a parameter outside LINK_ALLOWED_PARAMS.
    """
    if (
        any(name not in LINK_ALLOWED_PARAMS for name in params)
        or any(not params.get(name) for name in LINK_PARAMS)
        or not EXTERNAL_ID_PATTERN.fullmatch(params["uid"])
    ):
        raise LinkIncompleteError()
    client = signed_call_verify(
        key_id=params["key"],
        timestamp=params["ts"],
        nonce=params["nonce"],
        signature=params["sign"],
        message=signing.link_string(params),
        ip=ip,
        # The member's browser opens the link, not the host's servers: their allowed IPs say
        # nothing about it. The signature, age and single-use nonce are the link's protection.
        check_address=False,
        now=now,
    )
    link = _link(client_id=client.pk, external_id=params["uid"])
    if link is None:
        user_id, _created = host_member_put(client_id=client.pk, external_id=params["uid"], fields={})
    else:
        user_id = link.user_id
    selectors.member_check_usable(user_id=user_id, inactive_error=MemberInactiveError)
    return user_id
