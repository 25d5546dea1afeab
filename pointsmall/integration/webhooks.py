"""Outbound webhooks: the outbox of events for the hosts, and sending it (docs/integration.md).

``webhook_event_record`` writes one WebhookDelivery per enabled endpoint (of an enabled client
that knows the member) subscribed to the event, in the caller's transaction: the rows commit
or roll back with what happened. After commit a Celery task per row sends it; the beat sweep
(``integration.webhooks_retry``, ``manage.py integration_webhooks_retry``) sends whatever is
due and was not (a lost task, a retry, a lapsed claim). The shape is the notification outbox's
(accounts/services/delivery.py): claim with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease,
exponential backoff, a resend that never sends a delivered row again.

Every event of one occurrence has one id (the same for all endpoints), in the body and in
``X-Mall-Event-Id``: a receiver drops a repeat by it (deliveries are at least once).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pointsmall.integration import formats, selectors, signing
from pointsmall.integration.enums import WebhookDeliveryStatus
from pointsmall.integration.exceptions import (
    WebhookCredentialsInUrlError,
    WebhookHostNotAllowedError,
    WebhookHostUnresolvedError,
    WebhookHttpsRequiredError,
    WebhookPortInvalidError,
    WebhookUrlInvalidError,
)
from pointsmall.integration.models import WebhookDelivery, WebhookEndpoint
from pointsmall.kernel import outbox
from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.publish import publish
from pointsmall.kernel.transactions import after_commit

logger = logging.getLogger(__name__)

USER_AGENT = "PointsMall-Webhooks/1"
# Celery limits of one send (jobs.py); the claim's lease is well beyond them, so a send that hangs
# is killed long before another worker may take the row again. requests' timeout
# (WEBHOOK_TIMEOUT, for connecting and for each read) is well inside the soft limit.
SEND_SOFT_TIME_LIMIT = 60
SEND_TIME_LIMIT = 90
CLAIM_LEASE = timedelta(minutes=5)
# How long one sweep keeps starting sends (seconds); its own time limits are a little longer.
SWEEP_BUDGET = 240
RETRY_CAP = timedelta(hours=2)
# Seconds before a job records an outcome the retry sweep sent but could not write.
RECORD_LATER_DELAY = 30
RESPONSE_KEPT = 500
# Enough of a response body to keep its first RESPONSE_KEPT characters (UTF-8: up to 4 bytes each).
RESPONSE_READ_BYTES = RESPONSE_KEPT * 4

_PENDING = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING)


# --- Endpoint URLs (SSRF) ----------------------------------------------------------------------


# IPv6 prefixes whose last 32 bits are an IPv4 address the traffic reaches: NAT64 (RFC 6052 and
# the local-use prefix of RFC 8215). 6to4, Teredo and IPv4-mapped have their own properties.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries (and may be routed to): IPv4-mapped
    (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``), 6to4
    (``2002:AABB:CCDD::``) and both ends of Teredo (``2001::/32``)."""
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if int(address) >> 32 == 0 or any(address in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _address_refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address the mall must not call: not globally routable (loopback, private,
    link-local, shared (CGNAT), reserved, unspecified), multicast, or an IPv6 address that embeds
    such an IPv4 address (``::ffff:127.0.0.1``, ``64:ff9b::10.0.0.1``, ``2002:7f00:1::``…:
    a NAT64 gateway or 6to4 relay would carry the request there)."""
    if not address.is_global or address.is_multicast:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        return any(_address_refused(inner) for inner in _embedded_ipv4(address))
    return False


def webhook_url_check(url: str, *, resolve: bool = True, must_resolve: bool = True) -> None:
    """Refuse a webhook URL the mall must not call.

    It must be http(s) with a host; https unless WEBHOOK_ALLOW_PRIVATE_HOSTS (development and
    tests). Unless that setting is on, the host must not be a loopback, private, link-local,
    shared or reserved address: an IP literal is checked as written, a name (``resolve``) by
    every address DNS gives for it. ``must_resolve=False`` lets a name that does not resolve
    (yet) pass, as the admin does when saving; at send time it must resolve.
    Raises WebhookUrlInvalidError, WebhookHttpsRequiredError, WebhookHostNotAllowedError,
    WebhookHostUnresolvedError. Writes nothing.
    """
    parts = urlsplit(url or "")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise WebhookPortInvalidError() from None
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookUrlInvalidError()
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up on every admin page that shows it; the signature authenticates us.
        raise WebhookCredentialsInUrlError()
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_HOSTS
    if parts.scheme != "https" and not allow_private:
        raise WebhookHttpsRequiredError()
    if allow_private:
        return
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if _address_refused(literal):
            raise WebhookHostNotAllowedError(host=host, address=str(literal))
        return
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        if must_resolve:
            raise WebhookHostUnresolvedError(host=host) from None
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _address_refused(address):
            raise WebhookHostNotAllowedError(host=host, address=str(address))


# --- The outbox --------------------------------------------------------------------------------


def webhook_event_record(
    *, user_id: int, event_type: str, data: Mapping[str, Any], now: datetime | None = None
) -> list[int]:
    """Write the deliveries of one event about member ``user_id`` in the caller's transaction
    and send each after commit; returns their ids ([] when nobody listens).

    Only clients that know the member (a HostMember row) hear about it, each by its own
    external id (``data["member"]``); every enabled endpoint of an enabled client subscribed
    to ``event_type`` gets one row. ``data`` must be JSON-ready (strings, numbers, bools,
    lists, dicts). The body is ``{"id", "type", "created_at", "data"}``; ``id`` is one new
    UUID for the whole event. Locks nothing (inserts).
    """
    links = selectors.member_external_ids(user_id=user_id)
    if not links:
        return []
    endpoints = [
        (endpoint_id, client_id)
        for endpoint_id, client_id, events in WebhookEndpoint.objects.filter(
            client_id__in=links, enabled=True, client__enabled=True
        )
        .order_by("pk")
        .values_list("pk", "client_id", "events")
        # Filtered here, not with a JSON ``contains`` lookup: SQLite (the demo's database) has none.
        if event_type in (events or [])
    ]
    if not endpoints:
        return []
    now = now or timezone.now()
    event_id = uuid.uuid4()
    rows = [
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
            payload={
                "id": str(event_id),
                "type": event_type,
                "created_at": formats.instant(now),
                "data": {**data, "member": links[client_id]},
            },
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id, client_id in endpoints
    ]
    ids = [row.pk for row in WebhookDelivery.objects.bulk_create(rows)]
    after_commit(lambda: _enqueue(ids), label="queue webhook deliveries")
    return ids


def _enqueue(ids: Iterable[int]) -> None:
    # Imported here: the jobs module imports this one.
    from pointsmall.integration import jobs

    # A broker outage loses these nudges, not the deliveries: the sweep sends them. The first
    # failure pauses publishing in this process (pointsmall.kernel.publish): the rest are skipped.
    for delivery_id in ids:
        if not publish(partial(jobs.webhook_send.delay, delivery_id), what="webhook_send"):
            return


def retry_delay(attempt: int) -> timedelta:
    """How long after failed attempt number ``attempt`` (1, 2, …) the next one is due: 1, 2, 4,
    8 … minutes, at most RETRY_CAP (2 hours)."""
    return outbox.backoff(attempt, cap=RETRY_CAP)


def give_up_at(created_at: datetime) -> datetime:
    """The last moment a delivery is tried: WEBHOOK_RETRY_HOURS after the event."""
    return created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)


# --- Sending -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    attempt: int
    url: str
    client_id: int
    key_id: str
    event_type: str
    event_id: uuid.UUID
    payload: dict
    created_at: datetime
    switched_off: bool


def _claim(delivery_id: int) -> _Claim | None:
    """Take the delivery for this worker if it is due and nobody holds it (a lease of CLAIM_LEASE)."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=delivery_id, status__in=_PENDING, next_attempt_at__lte=now)
            .values(
                "attempts",
                "event_type",
                "event_id",
                "payload",
                "created_at",
                "endpoint__url",
                "endpoint__enabled",
                "endpoint__client__enabled",
                "endpoint__client_id",
                "endpoint__client__key_id",
            )
            .first()
        )
        if row is None:
            return None
        attempt = row["attempts"] + 1
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDeliveryStatus.SENDING, attempts=attempt, next_attempt_at=now + CLAIM_LEASE
        )
    return _Claim(
        delivery_id=delivery_id,
        attempt=attempt,
        url=row["endpoint__url"],
        client_id=row["endpoint__client_id"],
        key_id=row["endpoint__client__key_id"],
        event_type=row["event_type"],
        event_id=row["event_id"],
        payload=row["payload"],
        created_at=row["created_at"],
        switched_off=not (row["endpoint__enabled"] and row["endpoint__client__enabled"]),
    )


def _finish(claim: _Claim, **fields: Any) -> None:
    """Record the outcome of the claim robustly (outbox.outcome_record: a lost connection is
    replaced and the write tried again); raises OutcomeNotRecorded when it could not be."""
    outbox.outcome_record(
        lambda values: _write_outcome(claim.delivery_id, claim.attempt, values),
        label=f"webhook delivery {claim.delivery_id}",
        attempt=claim.attempt,
        fields=fields,
    )


def _write_outcome(delivery_id: int, attempt: int, fields: Mapping[str, Any]) -> int:
    # Only our own claim: one that lapsed and was taken by another worker is theirs now.
    return WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDeliveryStatus.SENDING, attempts=attempt
    ).update(**fields)


def webhook_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _post(claim: _Claim, body: bytes) -> tuple[int, str]:
    """POST the body; returns ``(status code, first RESPONSE_KEPT characters of the answer)``."""
    timestamp = str(int(timezone.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Mall-Key": claim.key_id,
        "X-Mall-Event": claim.event_type,
        "X-Mall-Event-Id": str(claim.event_id),
        "X-Mall-Signature": signing.webhook_header(
            secrets=selectors.client_secrets_live(client_id=claim.client_id), timestamp=timestamp, body=body
        ),
    }
    with requests.Session() as session:
        # No proxy from the environment, no redirect (a 3xx could point anywhere, the mall's own
        # network included; it counts as a failure). Known limit: requests resolves the name again
        # to connect, so a name whose DNS answer changes between webhook_url_check and this call
        # (DNS rebinding) is not caught; the connection is not pinned to the checked address
        # (docs/integration.md, "Delivery and retries").
        session.trust_env = False
        with session.post(
            claim.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_redirects=False,
            stream=True,
        ) as response:
            raw = response.raw.read(RESPONSE_READ_BYTES, decode_content=True) or b""
            return response.status_code, raw.decode("utf-8", errors="replace")[:RESPONSE_KEPT]


def _status(delivery_id: int) -> str:
    """The webhook delivery's status now, or "missing" when the row is gone."""
    return WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first() or "missing"


def webhook_send(*, delivery_id: int, unrecorded: Mapping[str, Any] | None = None) -> str:
    """Send one delivery now if it is due, and return its status afterwards.

    Claims the row first (``SELECT … FOR UPDATE SKIP LOCKED``, then status "sending" with a
    lease), so two workers, or a task run twice, never both send it; a sent or failed delivery
    is left alone. One whose endpoint or client was switched off since is failed unsent. The
    URL is checked again (``webhook_url_check`` after DNS resolution: a name can point
    elsewhere since it was saved); a refused URL fails the delivery at once with the
    reason in ``last_error`` and no request made, but a name that does not resolve
    (a DNS outage) counts as a failed attempt and is retried. A 2xx answer is delivered; any other answer
    (redirects included) or a network error counts an attempt: the next one after
    :func:`retry_delay`, the last one at :func:`give_up_at`, after which it is failed.
    Runs outside any transaction of the caller's (it calls out).

    The outcome is written after the POST, tried again over a lost connection
    (outbox.outcome_record); when it still cannot be written, raises outbox.OutcomeNotRecorded
    whose ``marker`` the job passes back as ``unrecorded`` in its retry: that call records the
    outcome of the (still held) claim and posts nothing. Returns the status then.
    """
    if unrecorded is not None:
        outbox.outcome_replay(
            unrecorded,
            lambda attempt, values: _write_outcome(delivery_id, attempt, values),
            label=f"webhook delivery {delivery_id}",
        )
        return _status(delivery_id)
    claim = _claim(delivery_id)
    if claim is None:
        return _status(delivery_id)
    if claim.switched_off:
        # The operator switched the endpoint (or the whole client) off after the event.
        _finish(
            claim,
            status=WebhookDeliveryStatus.FAILED,
            next_attempt_at=timezone.now(),
            last_error="endpoint or client switched off: not sent",
        )
        return WebhookDeliveryStatus.FAILED
    try:
        webhook_url_check(claim.url)
    except WebhookHostUnresolvedError as error:
        # A DNS failure can be passing (a resolver timeout, a record being changed): retried like
        # any network error below, failed only at the deadline. Only an address that resolved
        # and is refused fails the delivery at once.
        logger.warning("webhook delivery %s: %s", delivery_id, error.message)
        return _failed_attempt(claim, status_code=None, answer="", error_text=f"{error.code}: {error.message}")
    except DomainError as error:
        logger.warning("webhook delivery %s refused: %s", delivery_id, error.message)
        _finish(
            claim,
            status=WebhookDeliveryStatus.FAILED,
            next_attempt_at=timezone.now(),
            last_status_code=None,
            last_response="",
            last_error=f"{error.code}: {error.message}"[:300],
        )
        return WebhookDeliveryStatus.FAILED
    status_code: int | None = None
    answer, error_text = "", ""
    try:
        status_code, answer = _post(claim, webhook_body(claim.payload))
    except Exception as error:  # a network error, a timeout, a bad TLS certificate: all retried
        error_text = f"{type(error).__name__}: {error}"
    now = timezone.now()
    if status_code is not None and 200 <= status_code < 300:
        _finish(
            claim,
            status=WebhookDeliveryStatus.SENT,
            sent_at=now,
            last_status_code=status_code,
            last_response=answer,
            last_error="",
        )
        return WebhookDeliveryStatus.SENT
    if status_code is not None:
        error_text = f"HTTP {status_code}"
    return _failed_attempt(claim, status_code=status_code, answer=answer, error_text=error_text)


def _failed_attempt(claim: _Claim, *, status_code: int | None, answer: str, error_text: str) -> str:
    """Count a failed attempt: pending again after retry_delay, or failed at the deadline."""
    now = timezone.now()
    delivery_id = claim.delivery_id
    deadline = give_up_at(claim.created_at)
    final = now >= deadline
    logger.warning(
        "webhook delivery %s attempt %s failed%s: %s",
        delivery_id,
        claim.attempt,
        " for good" if final else "",
        error_text,
    )
    status = WebhookDeliveryStatus.FAILED if final else WebhookDeliveryStatus.PENDING
    _finish(
        claim,
        status=status,
        # The last try is at the deadline itself, however the backoff falls.
        next_attempt_at=now if final else min(now + retry_delay(claim.attempt), deadline),
        last_status_code=status_code,
        last_response=answer,
        last_error=error_text[:300],
    )
    return status


def webhooks_send_due(*, limit: int = 500, budget: float = SWEEP_BUDGET) -> dict[str, int]:
    """Send the deliveries that are due (a retry, a lost task, a lapsed claim), oldest first, at
    most ``limit``, starting no send after ``budget`` seconds (the rest waits for the next run);
    returns ``{status: count}`` of what they became. Safe to run twice and on several workers
    (each delivery is claimed)."""
    stop_at = time.monotonic() + budget
    ids = list(
        WebhookDelivery.objects.filter(status__in=_PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    report: dict[str, int] = {}
    for delivery_id in ids:
        if time.monotonic() > stop_at:
            break
        try:
            status = webhook_send(delivery_id=delivery_id)
        except outbox.OutcomeNotRecorded as error:
            # Delivered, not recorded: a job records it later (not posting again); the sweep goes on.
            status = _record_later(delivery_id, error)
        report[status] = report.get(status, 0) + 1
    return report


def _record_later(delivery_id: int, error: outbox.OutcomeNotRecorded) -> str:
    """Hand an outcome the sweep could not write to a webhook_send job (``unrecorded``); returns
    "sending" (what the row still says). If the broker is down too, the claim's lease decides."""
    from pointsmall.integration import jobs

    try:
        jobs.webhook_send.apply_async(
            kwargs={"delivery_id": delivery_id, "unrecorded": error.marker}, countdown=RECORD_LATER_DELAY
        )
    except Exception:
        logger.exception(
            "webhook delivery %s: could not queue recording its outcome; it is sent again after its claim", delivery_id
        )
    return WebhookDeliveryStatus.SENDING


def webhooks_resend(
    *, delivery_ids: Iterable[int] | None = None, failed_since: datetime | None = None, now: datetime | None = None
) -> int:
    """Queue failed deliveries to be sent again now, with a fresh attempt budget and a fresh
    retry window (WEBHOOK_RETRY_HOURS from now); returns how many.

    ``delivery_ids`` picks rows (the admin's selection); ``failed_since`` every failed row
    created at or after that moment (after an outage). Rows sent, pending or being sent are
    left alone: a delivered event is never sent again. The event id stays the same, so a
    receiver that did get it drops the repeat. Each row is sent after commit (and by the
    sweep if that nudge is lost). Locks the selected rows (SKIP LOCKED). Safe to call twice.
    """
    if delivery_ids is None and failed_since is None:
        return 0
    now = now or timezone.now()
    rows = WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.FAILED)
    if delivery_ids is not None:
        rows = rows.filter(pk__in=list(delivery_ids))
    if failed_since is not None:
        rows = rows.filter(created_at__gte=failed_since)
    with transaction.atomic():
        ids = list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True))
        # created_at restarts the retry window; the body keeps the event's own time and id.
        WebhookDelivery.objects.filter(pk__in=ids).update(
            # last_error and last_status_code stay: why it failed before is still worth reading.
            status=WebhookDeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        after_commit(lambda: _enqueue(ids), label="queue webhook deliveries")
    return len(ids)
