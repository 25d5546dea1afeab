"""Order life cycle. Every change locks the order row, checks the transition against the one
table (``catalog.order_states``), writes an OrderEvent (who, when: ``order_event_record``),
and — for rejections and cancellations — refunds the points into their original lots,
returns the stock (``services.stock``), releases an unused code and, for a paid order,
opens the refund of its cash (``services.refunds``), in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import locks, notices, order_states, rules, signals
from catalog.enums import PaymentBackendName, ProductKind, RefundReason
from catalog.exceptions import OrderNotFoundError, ReasonRequiredError, SandboxPaidByGatewayError
from catalog.models import CashRefund, Code, Order, OrderEvent
from catalog.order_states import Action, Actor, Condition
from catalog.services import order_messages, privileges
from catalog.services.refunds import cash_refund_open
from catalog.services.stock import stock_return
from points import services as points_services


def order_event_record(
    *,
    order_id: int,
    from_status: str,
    to_status: str,
    actor_id: int | None = None,
    note: str = "",
    created_at: datetime | None = None,
) -> OrderEvent:
    """Write one line of an order's history: a move ``from_status`` → ``to_status`` (the same
    status for a note, "" as ``from_status`` for placing), by ``actor_id`` (None: the mall).

    ``note`` is a person's words or a notice the mall writes (``catalog.notices.*_note``),
    cut at 200 characters. The only writer of OrderEvent. Locks nothing (an insert).
    """
    return OrderEvent.objects.create(
        order_id=order_id,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor_id,
        note=note[:200],
        created_at=created_at or timezone.now(),
    )


def _lock(order_id: int, member_id: int | None = None) -> Order:
    orders = locks.orders_for_update()
    if member_id is not None:
        orders = orders.filter(member_id=member_id)
    order = orders.filter(pk=order_id).first()
    if order is None:
        raise OrderNotFoundError()
    return order


def order_transition(
    order: Order,
    action: Action,
    *,
    by: Actor,
    actor_id: int | None,
    note: str = "",
    conditions: tuple[Condition, ...] = (),
    **fields,
) -> Order:
    """Move a locked order by ``action`` as the table says, with ``fields`` written alongside.

    Raises InvalidTransitionError when ``action`` is not allowed to ``by`` in the order's status
    (``conditions``: what the caller established under its locks, see ``order_states.Condition``).
    Writes the order and its event, and tells the member in their inbox (``order_messages``); a
    privilege order that completes delivers its effect in the same transaction (docs/decisions/0020).
    Sends ``signals.order_status_changed`` inside the transaction.
    The caller holds the order's row lock (and the member's points account before it when points
    may move).
    """
    target = order_states.transition_target(
        action,
        order.status,
        by=by,
        requires_review=action == Action.PAY and order.product.requires_review,
        physical=order.kind == ProductKind.PHYSICAL,
        conditions=conditions,
    )
    previous = order.status
    Order.objects.filter(pk=order.pk).update(status=target, **fields)
    for name, value in fields.items():
        setattr(order, name, value)
    order.status = target
    order_event_record(order_id=order.pk, from_status=previous, to_status=target, actor_id=actor_id, note=note)
    privileges.order_effect_apply(order=order)
    order_messages.order_transition_notify(order=order, action=action, by=by, note=note)
    signals.order_status_changed.send(
        sender=Order,
        user_id=order.member_id,
        order_id=order.pk,
        old_status=previous,
        new_status=target,
        action=str(action),
        product_name=order.product_name,
    )
    return order


def _undo(order: Order, *, actor_id: int | None, note: str) -> None:
    """Refund the points to their original lots, return the stock, release an unused code."""
    if order.spend_entry_id:
        points_services.points_refund(
            user_id=order.member_id,
            spend_entry_id=order.spend_entry_id,
            idempotency_key=f"{rules.order_reference(order.pk)}:refund",
            reference=rules.order_reference(order.pk),
            **notices.refunded(product=order.product, quantity=order.quantity),
        )
    stock_return(product_id=order.product_id, quantity=order.quantity, order_id=order.pk, actor_id=actor_id, note=note)
    Code.objects.filter(order=order, used_at__isnull=True).update(order=None, assigned_at=None, valid_until=None)


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
    """Cancel an order that has not shipped, or a completed privilege whose effect is unused (by
    its member or an operator).

    Points back to their lots, stock back, an unused code back to the pool and, when the
    cash part was paid, a CashRefund opened ("due") for the whole cash total, asked of the
    gateway on commit (``callback_base``: see ``catalog.payments.callback_base``).
    A completed privilege order (docs/decisions/0020) is cancelled only while its effect can be
    taken back: its reverser is asked first (``privileges.order_effect_reverse``); if (part of) it
    was used, PrivilegeInUseError is raised and nothing is written. Completed orders of any other
    kind, and privileges without a reverser (tier trials), are refused with InvalidTransitionError.
    Locks the member's points account, then the order, then its effect. ``member_id`` restricts it
    to that member's order (others: OrderNotFoundError). Safe to call twice: a cancelled order is
    refused with InvalidTransitionError and nothing changes.
    """
    if member_id is not None and not Order.objects.filter(pk=order_id, member_id=member_id).exists():
        raise OrderNotFoundError()
    order = _with_member_lock(order_id)
    by = Actor.MEMBER if member_id is not None else Actor.OPERATOR
    action, note = Action.CANCEL, reason
    conditions: tuple[Condition, ...] = ()
    if not order_states.allows(Action.CANCEL, order.status, by=by) and privileges.order_effect_revocable(order=order):
        action, conditions = Action.CANCEL_UNUSED, (Condition.UNUSED_PRIVILEGE,)
        note = reason or notices.privilege_taken_back_note()
        order_states.transition_target(action, order.status, by=by, conditions=conditions)  # refuse before asking
        privileges.order_effect_reverse(order=order)
    order = order_transition(order, action, by=by, actor_id=actor_id, note=note, conditions=conditions)
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
    order = order_transition(
        order, Action.REJECT, by=Actor.OPERATOR, actor_id=actor_id, note=reason, reject_reason=reason[:200]
    )
    _undo(order, actor_id=actor_id, note=reason)
    _refund_cash(order, reason=RefundReason.REJECTED, actor_id=actor_id, callback_base=callback_base)
    return order


@transaction.atomic
def order_approve(*, order_id: int, actor_id: int) -> Order:
    # Member's account first: approving a code or privilege completes it, and a privilege writes the ledger.
    order = _with_member_lock(order_id)
    target_complete = order.kind != ProductKind.PHYSICAL
    order = order_transition(order, Action.APPROVE, by=Actor.OPERATOR, actor_id=actor_id)
    if target_complete:
        # A reviewed code or coupon is delivered the moment it is approved.
        order = order_transition(order, Action.FULFIL, by=Actor.SYSTEM, actor_id=actor_id)
    return order


@transaction.atomic
def order_ship(*, order_id: int, actor_id: int, carrier: str, tracking_number: str) -> Order:
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise ReasonRequiredError(_("A carrier and a tracking number are required."))
    order = _lock(order_id)
    return order_transition(
        order,
        Action.SHIP,
        by=Actor.OPERATOR,
        actor_id=actor_id,
        note=f"{carrier} {tracking_number}",
        carrier=carrier[:40],
        tracking_number=tracking_number[:60],
    )


@transaction.atomic
def order_deliver(*, order_id: int, actor_id: int | None) -> Order:
    return order_transition(_lock(order_id), Action.DELIVER, by=Actor.OPERATOR, actor_id=actor_id)


@transaction.atomic
def order_confirm_receipt(*, order_id: int, member_id: int) -> Order:
    """The member confirms they received a shipped parcel: delivered, then completed.

    Locks the order row. Safe to call twice (a double tap, two tabs): an order already completed
    is returned unchanged, with no second event. Raises OrderNotFoundError (not the member's
    order) or the transition refusal (not shipped yet, cancelled), and then writes nothing.
    """
    order = _lock(order_id, member_id=member_id)
    if order.status in order_states.COMPLETED:
        return order
    if order_states.allows(Action.DELIVER, order.status, by=Actor.MEMBER):
        order = order_transition(order, Action.DELIVER, by=Actor.MEMBER, actor_id=member_id)
    return order_transition(order, Action.COMPLETE, by=Actor.MEMBER, actor_id=member_id)


@transaction.atomic
def order_mark_paid(*, order_id: int, payment_reference: str, actor_id: int | None = None) -> Order:
    """Record the cash part as paid (an operator for the offline backend, the gateway's callback for sandbox).

    Locks the member's points account, then the order (paying may complete a privilege order,
    which writes the ledger). Safe to call twice: an already paid order with the same
    reference is returned unchanged. Raises SandboxPaidByGatewayError when an operator
    (``actor_id``) confirms an order paid through the sandbox gateway: only its signed
    notification confirms that payment.
    """
    order = _with_member_lock(order_id)
    if actor_id is not None and order.payment_backend == PaymentBackendName.SANDBOX:
        raise SandboxPaidByGatewayError()
    if order.paid_at is not None:
        if order.payment_reference != payment_reference:
            raise order_states.refusal(Action.PAY, order.status)
        return order
    return order_transition(
        order,
        Action.PAY,
        by=Actor.OPERATOR if actor_id is not None else Actor.PAYMENT_PROVIDER,
        actor_id=actor_id,
        payment_reference=payment_reference[:64],
        paid_at=timezone.now(),
    )


@transaction.atomic
def _cancel_if_unpaid(*, order_id: int, now: datetime) -> bool:
    # Re-checked under the lock: a payment may have landed since the sweep listed the order,
    # and "cancel" is also allowed from approved, so order_cancel alone would cancel a paid order.
    order = _with_member_lock(order_id)
    if not order_states.allows(Action.CANCEL_UNPAID, order.status) or not order_states.payment_overdue(order, now):
        return False
    reason = notices.payment_timeout_note()  # read in each reader's language
    order = order_transition(order, Action.CANCEL_UNPAID, by=Actor.SYSTEM, actor_id=None, note=reason)
    _undo(order, actor_id=None, note=reason)
    return True


def orders_cancel_unpaid(*, now=None) -> int:
    """Cancel and refund every points + cash order whose payment time ran out. Safe to run twice.

    Each order is its own transaction (member's account, then the order); one that was
    paid or cancelled meanwhile is left alone.
    """
    now = now or timezone.now()
    due = list(Order.objects.filter(order_states.overdue_filter(now)).values_list("pk", flat=True))
    return sum(_cancel_if_unpaid(order_id=order_id, now=now) for order_id in due)


def order_created_announce(*, order: Order, source: str) -> None:
    """Send ``catalog.signals.order_created`` for a new order, inside its transaction (the host
    integration's webhook outbox listens). ``source``: "redemption" or "lottery_prize"."""
    signals.order_created.send(
        sender=Order,
        user_id=order.member_id,
        order_id=order.pk,
        source=source,
        status=order.status,
        product_id=order.product_id,
        product_name=order.product_name,
        kind=order.kind,
        quantity=order.quantity,
        points_total=order.points_total,
        cash_total=order.cash_total,
    )


@transaction.atomic
def orders_close_for_deletion(*, member_id: int, reason: str = "") -> list[int]:
    """The member is deleting their account (docs/decisions/0052): cancel every order they could
    still cancel themselves (awaiting payment, under review, approved: not shipped), each as
    ``order_cancel`` does (points back to their lots, stock back, a paid cash part refunded), and
    erase the delivery details (recipient, phone, address, postal code) of all their orders, which
    are kept for the books. Shipped orders go on to delivery and completion as they would.

    Returns the ids of the orders cancelled. Locks the member's points account, then each order.
    Safe to call twice: the second call finds nothing left to cancel.
    """
    points_services.account_lock(user_id=member_id)
    open_ids = list(
        Order.objects.filter(member_id=member_id, status__in=order_states.UNSHIPPED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    cancelled = []
    for order_id in open_ids:
        order = _lock(order_id)
        if not order_states.allows(Action.CANCEL, order.status, by=Actor.MEMBER):
            continue
        order = order_transition(order, Action.CANCEL, by=Actor.MEMBER, actor_id=member_id, note=reason)
        _undo(order, actor_id=member_id, note=reason or "cancelled")
        _refund_cash(order, reason=RefundReason.CANCELLED, actor_id=member_id, callback_base="")
        cancelled.append(order_id)
    Order.objects.filter(member_id=member_id).update(recipient="", phone="", address="", postal_code="")
    return cancelled
