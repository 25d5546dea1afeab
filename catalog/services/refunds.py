"""Cash refunds: what the mall owes back in cash, from "due" to "refunded" (or "failed", then retried).

Every yuan the mall must give back has a CashRefund row, opened in the same transaction as
what made it owed: a paid order cancelled (member, operator) or rejected, or a payment
that arrived after its order was cancelled (docs/decisions/0015).

- A gateway backend (sandbox) refunds by itself: the row is asked for on commit
  (``catalog.cash_refund_request``), the gateway confirms with a signed notification
  (``refund_notification_apply``). A failed attempt is retried automatically on a back-off
  (``cash_refunds_retry_due``, beat), then by an operator (``cash_refund_retry``).
- The offline backend has no API: an operator pays the member back (bank transfer, at
  the counter) and records it with the reference (``cash_refund_record``).

Lock order: the refund row alone. A refund is opened under its order's row lock, which
the caller holds (after the member's points account when points move too).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import locks, payment_jobs, payments, refund_states
from catalog.enums import PaymentBackendName, RefundOutcome, RefundStatus
from catalog.exceptions import (
    RefundAlreadyRecordedError,
    RefundInProgressError,
    RefundMismatchError,
    RefundNotFoundError,
    RefundNotRetryableError,
    RefundReferenceRequiredError,
    RefundRefusedError,
)
from catalog.models import CashRefund, Order
from catalog.payments import RefundNotification
from catalog.services.order_messages import cash_refund_notify
from pointsmall.kernel import clock
from pointsmall.kernel.publish import publish
from pointsmall.kernel.transactions import after_commit

logger = logging.getLogger(__name__)

# After the 1st and the 2nd failed attempt a gateway refund is tried again by itself; after
# the 3rd it waits for an operator (retry, or pay back by hand and record it).
RETRY_DELAYS = (timedelta(minutes=10), timedelta(hours=1))
AUTOMATIC_ATTEMPTS = len(RETRY_DELAYS) + 1
# A refund whose request never went out (broker down) or whose confirmation never came is asked for again.
REQUEST_LOST_AFTER = timedelta(minutes=5)
CONFIRMATION_LOST_AFTER = timedelta(minutes=30)


def _gateway_backends() -> list[str]:
    return [name for name, backend in payments.BACKENDS.items() if backend.refunds_by_gateway]


def _next_retry(attempt: int, now: datetime) -> datetime | None:
    return now + RETRY_DELAYS[attempt - 1] if attempt < AUTOMATIC_ATTEMPTS else None


def _ask_on_commit(refund_id: int) -> None:
    def ask() -> None:
        publish(lambda: payment_jobs.cash_refund_request.delay(refund_id), what="cash_refund_request")

    # A broker outage must not turn the member's committed cancellation into an error, nor cost
    # each request its own publish timeout (publish pauses after the first failure); the refund
    # row is the record, and the beat sweep asks again (REQUEST_LOST_AFTER).
    after_commit(ask, label=f"ask for cash refund {refund_id}")


def cash_refund_open(
    *,
    order: Order,
    reason: str,
    amount: Decimal,
    payment_reference: str,
    actor_id: int | None,
    callback_base: str = "",
) -> CashRefund:
    """Open the refund of one payment (``payment_reference``, ``amount`` yuan) of ``order``.

    The caller holds ``order``'s row lock, inside its transaction. A gateway refund is asked
    for once the transaction commits; ``callback_base`` (scheme and host, from the request
    that caused the refund) is where the gateway confirms it, see ``payments.callback_base``.
    Safe to call twice: one row per payment reference, the second call returns the first.
    """
    existing = CashRefund.objects.filter(payment_reference=payment_reference).first()
    if existing is not None:
        return existing
    backend = payments.backend_named(order.payment_backend or PaymentBackendName.OFFLINE)
    notify_url = ""
    if backend.refunds_by_gateway:
        notify_url = payments.notify_url(backend.refund_callback, callback_base or payments.callback_base())
    refund = CashRefund.objects.create(
        order=order,
        member_id=order.member_id,
        reason=reason,
        backend=backend.name,
        payment_reference=payment_reference,
        amount=amount,
        reference=f"RF-{order.pk}-{secrets.token_hex(6)}",
        notify_url=notify_url,
        created_by_id=actor_id,
    )
    if backend.refunds_by_gateway:
        _ask_on_commit(refund.pk)
    logger.info(
        "cash refund %s opened: ¥%s of payment %s, order %s (%s)",
        refund.reference,
        amount,
        payment_reference,
        order.pk,
        reason,
    )
    return refund


def _fail(*, refund_id: int, attempt: int, reason: str) -> bool:
    """Mark attempt ``attempt`` failed (the caller holds the row lock or accepts a guarded update)."""
    now = timezone.now()
    changed = CashRefund.objects.filter(pk=refund_id, status=RefundStatus.DUE, attempt=attempt).update(
        status=RefundStatus.FAILED, failure=reason[:200], retry_at=_next_retry(attempt, now)
    )
    if changed:
        logger.error("cash refund %s attempt %s failed: %s", refund_id, attempt, reason)
    return bool(changed)


def cash_refund_request(*, refund_id: int) -> str:
    """Ask the refund's gateway to make it (what the ``catalog.cash_refund_request`` job does).

    Calls out to the gateway, so it holds no transaction around the call. Returns
    "requested"; "settled" (no longer due); "by_operator" (an offline refund: nothing to
    ask); "refused" (the gateway refused: the attempt is marked failed); "unknown". Network
    errors propagate for the job to retry. Safe to call twice: the gateway takes one refund
    per reference and attempt, and the callback acknowledges its confirmation once.
    """
    refund = CashRefund.objects.filter(pk=refund_id).first()
    if refund is None:
        return "unknown"
    if refund.status != RefundStatus.DUE:
        return "settled"
    backend = payments.backend_named(refund.backend)
    if not backend.refunds_by_gateway:
        return "by_operator"
    CashRefund.objects.filter(pk=refund.pk, status=RefundStatus.DUE, attempt=refund.attempt).update(
        requested_at=timezone.now()
    )
    try:
        backend.refund_request(refund)
    except RefundRefusedError as error:
        _fail(refund_id=refund.pk, attempt=refund.attempt, reason=error.message)
        return "refused"
    return "requested"


@transaction.atomic
def refund_notification_apply(*, notification: RefundNotification, backend: str) -> RefundOutcome:
    """Act on a verified refund notification: the refund is marked refunded (or failed) once.

    Locks the refund row. Safe to call any number of times: a refund already refunded, or
    already failed for that attempt, is ALREADY_PROCESSED; a notification about an earlier
    attempt than the current one is SUPERSEDED; neither writes anything. A refund that was
    made is never marked failed afterwards. Raises RefundMismatchError when the notification
    names an unknown refund, another payment, order, backend or amount, an attempt never
    asked for, or an unknown status.
    """
    if notification.status not in (payments.REFUND_STATUS_REFUNDED, payments.REFUND_STATUS_FAILED):
        raise RefundMismatchError(reason=_("unsupported status %(status)r") % {"status": notification.status})
    refund = locks.cash_refunds_for_update().filter(reference=notification.reference).first()
    if refund is None:
        raise RefundMismatchError(reason=_("no refund %(refund)s") % {"refund": notification.reference})
    if (
        refund.backend != backend
        or refund.payment_reference != notification.payment_reference
        or refund.order_id != notification.order_id
    ):
        raise RefundMismatchError(
            reason=_("refund %(refund)s is not for payment %(payment)s of order %(order)s")
            % {"refund": refund.reference, "payment": notification.payment_reference, "order": notification.order_id}
        )
    if refund.amount != notification.amount:
        raise RefundMismatchError(
            reason=_("refund %(refund)s is %(amount)s, not %(notified)s")
            % {"refund": refund.reference, "amount": refund.amount, "notified": notification.amount}
        )
    if notification.attempt > refund.attempt:
        raise RefundMismatchError(
            reason=_("attempt %(attempt)s of refund %(refund)s was never asked for")
            % {"attempt": notification.attempt, "refund": refund.reference}
        )
    if refund.status == RefundStatus.REFUNDED:
        if notification.status == payments.REFUND_STATUS_FAILED:
            logger.warning("refund %s: a failure reported after it was refunded is ignored", refund.reference)
        return RefundOutcome.ALREADY_PROCESSED
    if notification.attempt < refund.attempt:
        return RefundOutcome.SUPERSEDED
    if notification.status == payments.REFUND_STATUS_REFUNDED:
        CashRefund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.REFUNDED, refunded_at=timezone.now(), retry_at=None
        )
        cash_refund_notify(refund=refund)
        logger.info("cash refund %s confirmed by the %s gateway", refund.reference, backend)
        return RefundOutcome.REFUNDED
    if refund.status == RefundStatus.FAILED:
        return RefundOutcome.ALREADY_PROCESSED
    _fail(refund_id=refund.pk, attempt=refund.attempt, reason=notification.reason or "the gateway gave no reason")
    return RefundOutcome.FAILED


@transaction.atomic
def cash_refund_retry(*, refund_id: int, actor_id: int | None = None) -> CashRefund:
    """Try a failed gateway refund again: a new attempt, asked for on commit.

    Locks the refund row. Raises RefundNotFoundError, RefundNotRetryableError (not failed, or an
    offline refund, which an operator records instead). Safe to call twice: the second
    call finds the refund due and is refused.
    """
    refund = locks.cash_refunds_for_update().filter(pk=refund_id).first()
    if refund is None:
        raise RefundNotFoundError()
    if refund.status != RefundStatus.FAILED or not payments.backend_named(refund.backend).refunds_by_gateway:
        raise RefundNotRetryableError(status=f"{refund.get_status_display()}, {refund.get_backend_display()}")
    refund.attempt += 1
    refund.status = RefundStatus.DUE
    CashRefund.objects.filter(pk=refund.pk).update(
        status=RefundStatus.DUE, attempt=refund.attempt, retry_at=None, requested_at=None
    )
    _ask_on_commit(refund.pk)
    logger.info("cash refund %s: attempt %s (by %s)", refund.reference, refund.attempt, actor_id or "the retry sweep")
    return refund


@transaction.atomic
def cash_refund_record(*, refund_id: int, actor_id: int, reference: str) -> CashRefund:
    """An operator records that they paid the refund back outside a gateway, with its reference.

    For offline refunds, and for gateway refunds that failed (paid back by hand). Locks
    the refund row; records who (``actor_id``), when and the bank's or receipt's
    reference. Raises RefundReferenceRequiredError, RefundNotFoundError, RefundAlreadyRecordedError,
    RefundInProgressError (the gateway is still on it). Safe to call twice: the second call is
    refused with RefundAlreadyRecordedError and changes nothing.
    """
    reference = " ".join((reference or "").split())
    if not reference:
        raise RefundReferenceRequiredError()
    refund = locks.cash_refunds_for_update().filter(pk=refund_id).first()
    if refund is None:
        raise RefundNotFoundError()
    if refund.status == RefundStatus.REFUNDED:
        raise RefundAlreadyRecordedError(time=clock.minute_text(refund.refunded_at))
    if not refund_states.recordable_by_hand(
        refund.status, refunds_by_gateway=payments.backend_named(refund.backend).refunds_by_gateway
    ):
        raise RefundInProgressError()
    now = timezone.now()
    CashRefund.objects.filter(pk=refund.pk).update(
        status=RefundStatus.REFUNDED,
        refunded_at=now,
        recorded_by_id=actor_id,
        settled_reference=reference[:64],
        retry_at=None,
    )
    refund.refresh_from_db()
    cash_refund_notify(refund=refund)
    logger.info("cash refund %s recorded by user %s: %s", refund.reference, actor_id, refund.settled_reference)
    return refund


def cash_refunds_retry_due(*, now: datetime | None = None) -> int:
    """The beat sweep: retry failed gateway refunds whose time came; ask again for lost requests.

    Each refund is its own transaction. Safe to run twice and on several workers: a retry
    re-checks the row under its lock, and asking again is idempotent. Returns how many
    refunds were retried or asked for again.
    """
    now = now or timezone.now()
    gateways = _gateway_backends()
    # Listed first, so a refund this sweep retries is not also counted as a lost request.
    lost = list(
        CashRefund.objects.filter(status=RefundStatus.DUE, backend__in=gateways)
        .filter(
            Q(requested_at__isnull=True, updated_at__lte=now - REQUEST_LOST_AFTER)
            | Q(requested_at__lte=now - CONFIRMATION_LOST_AFTER)
        )
        .values_list("pk", flat=True)
    )
    failed = list(
        CashRefund.objects.filter(status=RefundStatus.FAILED, retry_at__lte=now, backend__in=gateways).values_list(
            "pk", flat=True
        )
    )
    retried = 0
    for refund_id in failed:
        try:
            cash_refund_retry(refund_id=refund_id)
        except RefundNotRetryableError:
            continue
        retried += 1
    for refund_id in lost:
        _ask_on_commit(refund_id)  # a broker error is logged, and the sweep goes on with the others
        retried += 1
    return retried
