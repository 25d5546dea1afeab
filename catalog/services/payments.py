"""Paying the cash part of points + cash orders. The backends live in ``catalog.payments``.

Lock order: the order row only — paying never touches the ledger. A payment and the
timeout cancellation (member's account, then the order) meet on the order row, so exactly
one of them wins; a payment that arrives after the cancellation is "late": the order
stays cancelled and a CashRefund for the money received is opened in the same transaction.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import (
    locks,
    order_states,
    payment_jobs,  # noqa: F401 - registers the sandbox gateway's Celery task
    payments,
)
from catalog.enums import PaymentBackendName, PaymentOutcome, RefundReason
from catalog.exceptions import OrderNotFoundError, PaymentExpiredError, PaymentMismatchError
from catalog.models import CashRefund, Order
from catalog.order_states import Action
from catalog.payments import Notification, PaymentStart
from catalog.services.orders import order_mark_paid
from catalog.services.refunds import cash_refund_open
from points import services as points_services
from pointsmall.kernel import clock

logger = logging.getLogger(__name__)


@transaction.atomic
def payment_begin(*, order_id: int, member_id: int) -> PaymentStart:
    """Start paying the cash part of the member's order: how to pay, and the payment reference to use.

    The first call gives the order a reference with the configured backend; later calls
    reuse it (and that backend), so a member who comes back pays the same payment.
    Locks the order row. Raises OrderNotFoundError (not this member's order), InvalidTransitionError
    (not awaiting payment), PaymentExpiredError (the time to pay has run out). Safe to call twice.
    """
    order = locks.orders_for_update().filter(pk=order_id, member_id=member_id).first()
    if order is None:
        raise OrderNotFoundError()
    if not order_states.allows(Action.PAY, order.status):
        raise order_states.refusal(Action.PAY, order.status)
    if order_states.payment_overdue(order, timezone.now()):
        raise PaymentExpiredError(time=clock.minute_text(order.pay_by))
    if not order.payment_reference:
        backend = payments.backend_named(payments.configured_backend_name())
        order.payment_backend = backend.name
        order.payment_reference = backend.new_reference(order)
        Order.objects.filter(pk=order.pk).update(
            payment_backend=order.payment_backend, payment_reference=order.payment_reference
        )
    return payments.backend_for(order).start(order)


@transaction.atomic
def payment_notification_apply(*, notification: Notification, backend: str, callback_base: str = "") -> PaymentOutcome:
    """Act on a verified gateway notification: the order is marked paid once.

    Locks the order row. Safe to call any number of times: for an order already paid with
    this reference nothing is written (ALREADY_PROCESSED). For an order cancelled before the
    payment arrived (LATE) the order stays cancelled and a CashRefund of the amount received
    is opened (once per payment: a replay finds it) and asked of the gateway on commit,
    confirmed at ``callback_base``. Raises PaymentMismatchError when the notification names an
    unknown order, another reference or backend, another amount, or a status other than paid.
    """
    # No nonce is stored (no table for it): a replay is harmless because paying is idempotent,
    # and the signed timestamp bounds how long a captured notification is accepted at all.
    if notification.status != payments.STATUS_PAID:
        raise PaymentMismatchError(reason=_("unsupported status %(status)r") % {"status": notification.status})
    # The member's points account first, then the order (the lock order of every order write):
    # marking paid may complete the order and apply a privilege, which writes the ledger.
    member_id = Order.objects.filter(pk=notification.order_id).values_list("member_id", flat=True).first()
    if member_id is None:
        raise PaymentMismatchError(reason=_("no order %(order)s") % {"order": notification.order_id})
    points_services.account_lock(user_id=member_id)
    order = locks.orders_for_update().filter(pk=notification.order_id).first()
    if order is None:
        raise PaymentMismatchError(reason=_("no order %(order)s") % {"order": notification.order_id})
    if order.payment_backend != backend or order.payment_reference != notification.reference:
        raise PaymentMismatchError(
            reason=_("order %(order)s is not paid with reference %(reference)s")
            % {"order": order.pk, "reference": notification.reference}
        )
    if order.cash_total != notification.amount:
        raise PaymentMismatchError(
            reason=_("order %(order)s costs %(cost)s, not %(amount)s")
            % {"order": order.pk, "cost": order.cash_total, "amount": notification.amount}
        )
    if order.paid_at is not None:
        return PaymentOutcome.ALREADY_PROCESSED
    if order_states.allows(Action.REFUND_LATE_PAYMENT, order.status, by=order_states.Actor.PAYMENT_PROVIDER):
        refund = cash_refund_open(
            order=order,
            reason=RefundReason.LATE_PAYMENT,
            amount=notification.amount,
            payment_reference=notification.reference,
            actor_id=None,
            callback_base=callback_base,
        )
        logger.warning(
            "LATE PAYMENT: order %s was cancelled before payment %s of ¥%s arrived; cash refund %s is due",
            order.pk,
            notification.reference,
            notification.amount,
            refund.reference,
        )
        return PaymentOutcome.LATE
    order_mark_paid(order_id=order.pk, payment_reference=notification.reference)
    return PaymentOutcome.PAID


@transaction.atomic
def payment_offline_late_record(*, order_id: int, actor_id: int) -> CashRefund:
    """An operator records an offline payment that arrived after its order was cancelled: refund due.

    The order stays cancelled (its points are back already); the money received is owed
    back, as a CashRefund the operator records once paid back. Locks the order row. Raises
    OrderNotFoundError, InvalidTransitionError (not a cancelled, unpaid offline order with a cash part).
    Safe to call twice: the second call returns the same refund.
    """
    order = locks.orders_for_update().filter(pk=order_id).first()
    if order is None:
        raise OrderNotFoundError()
    if (
        not order_states.allows(Action.REFUND_LATE_PAYMENT, order.status, by=order_states.Actor.OPERATOR)
        or order.paid_at is not None
        or order.cash_total <= 0
        or order.payment_backend == PaymentBackendName.SANDBOX
    ):
        raise order_states.refusal(Action.REFUND_LATE_PAYMENT, order.status)
    return cash_refund_open(
        order=order,
        reason=RefundReason.LATE_PAYMENT,
        amount=order.cash_total,
        payment_reference=order.payment_reference or f"offline:{order.pk}",
        actor_id=actor_id,
    )
