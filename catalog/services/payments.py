"""Paying the cash part of points + cash orders. The backends live in ``catalog.payments``.

Lock order: the order row only — paying never touches the ledger. A payment and the
timeout cancellation (member's account, then the order) meet on the order row, so exactly
one of them wins; a notification that arrives after the cancellation is answered "late".
"""

from __future__ import annotations

import logging

from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import date_format

from catalog import (
    payment_jobs,  # noqa: F401 - registers the sandbox gateway's Celery task
    payments,
)
from catalog.enums import OrderStatus
from catalog.exceptions import InvalidTransition, OrderNotFound
from catalog.models import Order
from catalog.payments import InvalidNotification, Notification, PaymentExpired, PaymentStart
from catalog.services.orders import ACTION_LABELS, order_mark_paid

logger = logging.getLogger(__name__)


class PaymentOutcome(models.TextChoices):
    PAID = "paid"
    ALREADY_PROCESSED = "already_processed"
    LATE = "late"


class PaymentMismatch(InvalidNotification):
    code = "payment_mismatch"
    default_message = "The notification does not match the order: %(reason)s."


@transaction.atomic
def payment_begin(*, order_id: int, member_id: int) -> PaymentStart:
    """Start paying the cash part of the member's order: how to pay, and the payment reference to use.

    The first call gives the order a reference with the configured backend; later calls
    reuse it (and that backend), so a member who comes back pays the same payment.
    Locks the order row. Raises OrderNotFound (not this member's order), InvalidTransition
    (not awaiting payment), PaymentExpired (the time to pay has run out). Safe to call twice.
    """
    order = Order.objects.select_for_update().filter(pk=order_id, member_id=member_id).first()
    if order is None:
        raise OrderNotFound()
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise InvalidTransition(action=str(ACTION_LABELS["pay"]), status=order.get_status_display())
    if order.pay_by is not None and order.pay_by <= timezone.now():
        raise PaymentExpired(time=date_format(timezone.localtime(order.pay_by), "Y-m-d H:i"))
    if not order.payment_reference:
        backend = payments.backend_named(payments.configured_backend_name())
        order.payment_backend = backend.name
        order.payment_reference = backend.new_reference(order)
        Order.objects.filter(pk=order.pk).update(
            payment_backend=order.payment_backend, payment_reference=order.payment_reference
        )
    return payments.backend_for(order).start(order)


@transaction.atomic
def payment_notification_apply(*, notification: Notification, backend: str) -> PaymentOutcome:
    """Act on a verified gateway notification: the order is marked paid once.

    Locks the order row. Safe to call any number of times: for an order already paid with
    this reference nothing is written (ALREADY_PROCESSED). For an order cancelled before the
    payment arrived nothing is written either (LATE): the order stays cancelled and the
    gateway must give the money back. Raises PaymentMismatch when the notification names an
    unknown order, another reference or backend, another amount, or a status other than paid.
    """
    # No nonce is stored (no table for it): a replay is harmless because paying is idempotent,
    # and the signed timestamp bounds how long a captured notification is accepted at all.
    if notification.status != payments.STATUS_PAID:
        raise PaymentMismatch(reason=f"unsupported status {notification.status!r}")
    order = Order.objects.select_for_update().filter(pk=notification.order_id).first()
    if order is None:
        raise PaymentMismatch(reason=f"no order {notification.order_id}")
    if order.payment_backend != backend or order.payment_reference != notification.reference:
        raise PaymentMismatch(reason=f"order {order.pk} is not paid with reference {notification.reference}")
    if order.cash_total != notification.amount:
        raise PaymentMismatch(reason=f"order {order.pk} costs {order.cash_total}, not {notification.amount}")
    if order.paid_at is not None:
        return PaymentOutcome.ALREADY_PROCESSED
    if order.status == OrderStatus.CANCELLED:
        logger.error(
            "LATE PAYMENT: order %s was cancelled before payment %s of ¥%s arrived; the payer must be refunded",
            order.pk,
            notification.reference,
            notification.amount,
        )
        return PaymentOutcome.LATE
    order_mark_paid(order_id=order.pk, payment_reference=notification.reference)
    return PaymentOutcome.PAID
