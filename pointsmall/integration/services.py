"""Writes of the host integration: clients and their secrets, checking a signed request."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pointsmall.integration import selectors, signing, vault
from pointsmall.integration.exceptions import (
    AddressNotAllowedError,
    BadSignatureError,
    ClientDisabledError,
    InvalidAllowedIpsError,
    InvalidNonceError,
    NonceReusedError,
    StaleTimestampError,
    UnknownClientError,
)
from pointsmall.integration.models import Client, ClientSecret, UsedNonce

NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")

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


def client_check_access(*, key_id: str, ip: str | None) -> Client:
    """The enabled client with ``key_id``, called from an allowed address.
    Raises UnknownClientError (401), ClientDisabledError (403), AddressNotAllowedError (403)."""
    client = selectors.client_by_key(key_id=key_id) if key_id else None
    if client is None:
        raise UnknownClientError()
    if not client.enabled:
        raise ClientDisabledError()
    networks = allowed_networks(client.allowed_ips)
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
    try:
        seconds = int(timestamp)
    except (TypeError, ValueError):
        raise StaleTimestampError() from None
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
    now: datetime | None = None,
) -> Client:
    """Check a signed API request or login link and spend its nonce. Returns the client.

    Order: client (401 unknown; 403 disabled or address), timestamp (401), nonce format (401),
    signature (401), then the nonce is spent (401 if reused). Nothing is written for a request
    that fails before the last step, so a forger cannot burn a host's nonces.
    """
    client = client_check_access(key_id=key_id, ip=ip)
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
