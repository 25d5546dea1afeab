"""Order life cycle. Every change locks the order row, checks the transition, writes an
OrderEvent (who, when), and — for rejections and cancellations — refunds the points into
their original lots, returns the stock, releases an unused code and, for a paid order,
opens the refund of its cash (``services.refunds``), in one transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import flash_gate, notices
from catalog.enums import OrderStatus, ProductKind, RefundReason, StockReason
from catalog.exceptions import InvalidTransitionError, OrderNotFoundError, ReasonRequiredError
from catalog.models import CashRefund, Code, Order, OrderEvent, Product, StockMovement
from catalog.services import privileges
from catalog.services.refunds import cash_refund_open
from points import services as points_services

# Which statuses each action may start from.
TRANSITIONS: dict[str, tuple[set[str], str]] = {
    "approve": ({OrderStatus.PENDING_REVIEW}, OrderStatus.APPROVED),
    "reject": ({OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED}, OrderStatus.REJECTED),
    "ship": ({OrderStatus.APPROVED}, OrderStatus.SHIPPED),
    "deliver": ({OrderStatus.SHIPPED}, OrderStatus.DELIVERED),
    "complete": ({OrderStatus.DELIVERED}, OrderStatus.COMPLETED),
    "cancel": (
        {OrderStatus.AWAITING_PAYMENT, OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED},
        OrderStatus.CANCELLED,
    ),
    "pay": ({OrderStatus.AWAITING_PAYMENT}, OrderStatus.APPROVED),
}
# Lazy: built at import, these must still read in the language of the request that fails.
ACTION_LABELS = {
    "approve": gettext_lazy("approved"),
    "reject": gettext_lazy("rejected"),
    "ship": gettext_lazy("shipped"),
    "deliver": gettext_lazy("delivered"),
    "complete": gettext_lazy("completed"),
    "cancel": gettext_lazy("cancelled"),
    "pay": gettext_lazy("paid"),
}


def _lock(order_id: int, member_id: int | None = None) -> Order:
    orders = Order.objects.select_for_update()
    if member_id is not None:
        orders = orders.filter(member_id=member_id)
    order = orders.filter(pk=order_id).first()
    if order is None:
        raise OrderNotFoundError()
    return order


def _move(order: Order, action: str, *, actor_id: int | None, note: str = "", **fields) -> Order:
    allowed, target = TRANSITIONS[action]
    if order.status not in allowed:
        raise InvalidTransitionError(action=str(ACTION_LABELS[action]), status=order.get_status_display())
    # After payment an order goes where it would have started without a cash part
    # (redemption._first_status): review first when the product needs it, whatever its kind.
    if action == "pay" and order.product.requires_review:
        target = OrderStatus.PENDING_REVIEW
    elif action == "pay" and order.kind != ProductKind.PHYSICAL:
        target = OrderStatus.COMPLETED
    previous = order.status
    Order.objects.filter(pk=order.pk).update(status=target, **fields)
    for name, value in fields.items():
        setattr(order, name, value)
    order.status = target
    OrderEvent.objects.create(order=order, from_status=previous, to_status=target, actor_id=actor_id, note=note[:200])
    # A completed privilege order delivers its effect in this transaction (docs/decisions/0020).
    privileges.order_effect_apply(order=order)
    return order


def _undo(order: Order, *, actor_id: int | None, note: str) -> None:
    """Refund the points to their original lots, return the stock, release an unused code."""
    if order.spend_entry_id:
        points_services.points_refund(
            user_id=order.member_id,
            spend_entry_id=order.spend_entry_id,
            idempotency_key=f"catalog.order:{order.pk}:refund",
            reference=f"catalog.order:{order.pk}",
            memo_code=notices.REFUNDED,
            memo_params={"name": notices.product_name(order.product), "quantity": order.quantity},
        )
    Product.objects.filter(pk=order.product_id).update(
        stock=F("stock") + order.quantity, sold=F("sold") - order.quantity
    )
    stock_after = Product.objects.filter(pk=order.product_id).values_list("stock", flat=True).get()
    StockMovement.objects.create(
        product_id=order.product_id,
        delta=order.quantity,
        stock_after=stock_after,
        reason=StockReason.RETURN,
        order=order,
        actor_id=actor_id,
        note=note[:200],
    )
    Code.objects.filter(order=order, used_at__isnull=True).update(order=None, assigned_at=None, valid_until=None)
    flash_gate.stock_returned(product_id=order.product_id, quantity=order.quantity)


def _refund_cash(order: Order, *, reason: str, actor_id: int | None, callback_base: str) -> CashRefund | None:
    """A paid order's cash goes back the way it came: open its refund (the order is locked)."""
    if order.paid_at is None or order.cash_total <= 0:
        return None
    return cash_refund_open(
        order=order,
        reason=reason,
        amount=order.cash_total,
        payment_reference=order.payment_reference or f"order:{order.pk}",
        actor_id=actor_id,
        callback_base=callback_base,
    )


def _with_member_lock(order_id: int):
    """Lock order: the member's points account first (refunds write the ledger), then the order."""
    member_id = Order.objects.filter(pk=order_id).values_list("member_id", flat=True).first()
    if member_id is None:
        raise OrderNotFoundError()
    points_services.account_lock(user_id=member_id)
    return _lock(order_id)


@transaction.atomic
def order_cancel(
    *,
    order_id: int,
    member_id: int | None = None,
    actor_id: int | None = None,
    reason: str = "",
    callback_base: str = "",
) -> Order:
    """Cancel an order that has not shipped (by its member, an operator or the payment timeout).

    Points back to their lots, stock back, an unused code back to the pool and, when the
    cash part was paid, a CashRefund opened ("due") for the whole cash total, asked of the
    gateway on commit (``callback_base``: see ``catalog.payments.callback_base``).
    Locks the member's points account, then the order. ``member_id`` restricts it to that
    member's order (others: OrderNotFoundError). Safe to call twice: a cancelled order is
    refused with InvalidTransitionError and nothing changes.
    """
    if member_id is not None and not Order.objects.filter(pk=order_id, member_id=member_id).exists():
        raise OrderNotFoundError()
    order = _with_member_lock(order_id)
    order = _move(order, "cancel", actor_id=actor_id, note=reason)
    _undo(order, actor_id=actor_id, note=reason or "cancelled")
    _refund_cash(order, reason=RefundReason.CANCELLED, actor_id=actor_id, callback_base=callback_base)
    return order


@transaction.atomic
def order_reject(*, order_id: int, actor_id: int, reason: str, callback_base: str = "") -> Order:
    """An operator rejects an order under review or approved: undone like a cancellation (cash refund included).

    Raises ReasonRequiredError (blank reason), OrderNotFoundError, InvalidTransitionError. Safe to call twice.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequiredError()
    order = _with_member_lock(order_id)
    order = _move(order, "reject", actor_id=actor_id, note=reason, reject_reason=reason[:200])
    _undo(order, actor_id=actor_id, note=reason)
    _refund_cash(order, reason=RefundReason.REJECTED, actor_id=actor_id, callback_base=callback_base)
    return order


@transaction.atomic
def order_approve(*, order_id: int, actor_id: int) -> Order:
    # Member's account first: approving a code or privilege completes it, and a privilege writes the ledger.
    order = _with_member_lock(order_id)
    target_complete = order.kind != ProductKind.PHYSICAL
    order = _move(order, "approve", actor_id=actor_id)
    if target_complete:
        # A reviewed code or coupon is delivered the moment it is approved.
        order = _move_complete_now(order, actor_id)
    return order


def _move_complete_now(order: Order, actor_id: int | None) -> Order:
    previous = order.status
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    order.status = OrderStatus.COMPLETED
    OrderEvent.objects.create(order=order, from_status=previous, to_status=OrderStatus.COMPLETED, actor_id=actor_id)
    privileges.order_effect_apply(order=order)
    return order


@transaction.atomic
def order_ship(*, order_id: int, actor_id: int, carrier: str, tracking_number: str) -> Order:
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise ReasonRequiredError(_("A carrier and a tracking number are required."))
    order = _lock(order_id)
    return _move(
        order,
        "ship",
        actor_id=actor_id,
        note=f"{carrier} {tracking_number}",
        carrier=carrier[:40],
        tracking_number=tracking_number[:60],
    )


@transaction.atomic
def order_deliver(*, order_id: int, actor_id: int | None) -> Order:
    return _move(_lock(order_id), "deliver", actor_id=actor_id)


@transaction.atomic
def order_confirm_receipt(*, order_id: int, member_id: int) -> Order:
    """The member confirms they received a shipped parcel: delivered, then completed."""
    order = _lock(order_id, member_id=member_id)
    if order.status == OrderStatus.SHIPPED:
        order = _move(order, "deliver", actor_id=member_id)
    return _move(order, "complete", actor_id=member_id)


@transaction.atomic
def order_mark_paid(*, order_id: int, payment_reference: str, actor_id: int | None = None) -> Order:
    """Record the cash part as paid (an operator for the offline backend, the gateway's callback for sandbox).

    Locks the member's points account, then the order (paying may complete a privilege order,
    which writes the ledger). Safe to call twice: an already paid order with the same
    reference is returned unchanged.
    """
    order = _with_member_lock(order_id)
    if order.paid_at is not None:
        if order.payment_reference != payment_reference:
            raise InvalidTransitionError(action=str(ACTION_LABELS["pay"]), status=order.get_status_display())
        return order
    return _move(order, "pay", actor_id=actor_id, payment_reference=payment_reference[:64], paid_at=timezone.now())


@transaction.atomic
def _cancel_if_unpaid(*, order_id: int, now) -> bool:
    # Re-checked under the lock: a payment may have landed since the sweep listed the order,
    # and "cancel" is also allowed from approved, so order_cancel alone would cancel a paid order.
    order = _with_member_lock(order_id)
    if order.status != OrderStatus.AWAITING_PAYMENT or order.pay_by is None or order.pay_by > now:
        return False
    reason = notices.event_note(notices.PAYMENT_TIMEOUT)  # read in each reader's language
    order = _move(order, "cancel", actor_id=None, note=reason)
    _undo(order, actor_id=None, note=reason)
    return True


def orders_cancel_unpaid(*, now=None) -> int:
    """Cancel and refund every points + cash order whose payment time ran out. Safe to run twice.

    Each order is its own transaction (member's account, then the order); one that was
    paid or cancelled meanwhile is left alone.
    """
    now = now or timezone.now()
    due = list(Order.objects.filter(status=OrderStatus.AWAITING_PAYMENT, pay_by__lte=now).values_list("pk", flat=True))
    return sum(_cancel_if_unpaid(order_id=order_id, now=now) for order_id in due)
