"""What an order's member is told in their inbox when the order moves (issue #12, "Events").

Called from the two places an order's history is written: ``orders.order_transition`` (every
status change) and the redemption's placement; and from the refund service when cash is paid
back. Each message is transactional (it reaches the inbox even when the member switched order
messages off), of the "order" kind, links to the member's order page, and is sent inside the
caller's transaction: it commits with the move or not at all. Every event of an order happens
at most once, so ``order:<id>:<event>`` keeps a retried caller from sending it twice (a cash
refund, of which an order may have several, is keyed by its own id).

What is not told: the member's own confirmation of receipt (they just did it), and lottery
prize orders (the draw's own "you won" message says it).
"""

from __future__ import annotations

from accounts import services as accounts_services
from accounts.enums import NotificationKind
from catalog import notices
from catalog.enums import OrderStatus, ProductKind, RefundReason
from catalog.models import CashRefund, Code, Order
from catalog.order_states import Action, Actor
from points.notices import Notice


def _send(order: Order, event: str, notice: Notice) -> None:
    accounts_services.notification_send(
        user_id=order.member_id,
        kind=NotificationKind.ORDER,
        **notice.message,
        link=order.get_absolute_url(),
        dedupe_key=f"order:{order.pk}:{event}",
        transactional=True,
    )


def _completed(order: Order) -> None:
    """A code or coupon is ready (the code itself stays on the order page), or another kind is done."""
    if Code.objects.filter(order_id=order.pk).exists():
        _send(order, "code_ready", notices.order_code_ready(order=order))
    else:
        _send(order, "completed", notices.order_completed(order=order))


def order_placed_notify(*, order: Order) -> None:
    """Tell the member what happens next with the order they just placed (in its first status)."""
    status = order.status
    if status == OrderStatus.AWAITING_PAYMENT:
        _send(order, "payment_due", notices.order_payment_due(order=order))
    elif status == OrderStatus.PENDING_REVIEW:
        _send(order, "received", notices.order_received(order=order))
    elif status == OrderStatus.APPROVED and order.kind == ProductKind.PHYSICAL:
        _send(order, "approved", notices.order_approved(order=order))
    elif status == OrderStatus.COMPLETED:
        _completed(order)


def order_transition_notify(*, order: Order, action: Action, by: Actor, note: str = "") -> None:
    """Tell the member about ``action``, which just moved ``order`` (now in its new status) at the
    request of ``by``; ``note``: the event's note (a person's reason, or a note the mall wrote)."""
    if action == Action.PAY:
        _send(order, "paid", notices.order_paid(order=order))
        if order.status == OrderStatus.COMPLETED:
            _completed(order)
    elif action == Action.APPROVE and order.kind == ProductKind.PHYSICAL:
        # A reviewed code, coupon or privilege completes at once (FULFIL): that message says it.
        _send(order, "approved", notices.order_approved(order=order))
    elif action == Action.FULFIL:
        _completed(order)
    elif action == Action.REJECT:
        _send(order, "rejected", notices.order_rejected(order=order))
    elif action == Action.SHIP:
        _send(order, "shipped", notices.order_shipped(order=order))
    elif action == Action.DELIVER and by != Actor.MEMBER:
        _send(order, "delivered", notices.order_delivered(order=order))
    elif action in (Action.CANCEL, Action.CANCEL_UNUSED, Action.CANCEL_UNPAID):
        if action == Action.CANCEL_UNPAID:
            who = notices.CANCELLED_BY_TIMEOUT
        elif by == Actor.MEMBER:
            who = notices.CANCELLED_BY_MEMBER
        else:
            who = notices.CANCELLED_BY_OPERATOR
        # A note the mall wrote (a stored code: "catalog.…") is not a reason a person gave.
        reason = "" if note.startswith("catalog.") else note.strip()
        _send(order, "cancelled", notices.order_cancelled(order=order, by=who, reason=reason))


def cash_refund_notify(*, refund: CashRefund) -> None:
    """Tell the member their cash came back (called when a refund is marked refunded)."""
    order = Order.objects.select_related("product").get(pk=refund.order_id)
    _send(
        order,
        f"refund:{refund.pk}",
        notices.order_refunded(order=order, amount=refund.amount, late=refund.reason == RefundReason.LATE_PAYMENT),
    )
