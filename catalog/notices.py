"""What the catalog tells members and operators: history texts of redemptions and inbox alerts.

Stored as a code and parameters, rendered in the reader's language when read (points.notices,
docs/decisions/0019). Product names are stored in both languages (``product_name``), so an
English reader sees the English name of an item redeemed while Chinese was active.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TypedDict

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog import order_states
from catalog.enums import OrderStatus
from points.notices import Notice, Params, Text, bilingual, check, localized, register, render
from pointsmall.kernel import clock
from pointsmall.kernel.language import sentences

NOTE_MAX = 200

# History texts (ledger entries).
REDEEMED = "catalog.redeemed"
REFUNDED = "catalog.refunded"
REVIEW = "catalog.review"
REVIEW_REMOVED = "catalog.review_removed"
# Inbox messages.
LOW_STOCK = "catalog.low_stock"
# Inbox messages to an order's member, one per event of the order (catalog.services.order_messages).
# None holds a code or coupon itself: messages may also go out by e-mail or SMS, so they link
# to the order page, where the code is shown to its signed-in member only.
ORDER_RECEIVED = "catalog.order_received"
ORDER_PAYMENT_DUE = "catalog.order_payment_due"
ORDER_PAID = "catalog.order_paid"
ORDER_APPROVED = "catalog.order_approved"
ORDER_REJECTED = "catalog.order_rejected"
ORDER_SHIPPED = "catalog.order_shipped"
ORDER_DELIVERED = "catalog.order_delivered"
ORDER_CODE_READY = "catalog.order_code_ready"
ORDER_COMPLETED = "catalog.order_completed"
ORDER_CANCELLED = "catalog.order_cancelled"
ORDER_REFUNDED = "catalog.order_refunded"
# Who cancelled an order (the ``by`` of ORDER_CANCELLED).
CANCELLED_BY_MEMBER = "member"
CANCELLED_BY_OPERATOR = "operator"
CANCELLED_BY_TIMEOUT = "timeout"
# Notes the mall itself writes on an order's history (OrderEvent.note, see event_note); people's notes
# (a member's cancel reason, an operator's rejection) are free text.
PAYMENT_TIMEOUT = "catalog.payment_timeout"
COUPON_USED = "catalog.coupon_used"
COUPON_SECOND_USE_REFUSED = "catalog.coupon_second_use_refused"
PRIVILEGE_TAKEN_BACK = "catalog.privilege_taken_back"
# Notes the mall writes on a stock movement (StockMovement.note, the same ``event_note`` form).
CODES_IMPORTED = "catalog.codes_imported"
# The first history line (and stock movement) of an order that delivers a lottery prize.
LOTTERY_PRIZE = "catalog.lottery_prize"


def product_name(product) -> dict:
    """A product's name in both languages, to store in a text's parameters."""
    return bilingual(zh=product.name_zh, en=product.name_en)


# --- One function per notice: what the services store, as a code and its parameters ------------


class Memo(TypedDict):
    """The history text of a ledger entry, as the points services take it (``**memo``)."""

    memo_code: str
    memo_params: dict


class Message(TypedDict):
    """An inbox message, as ``accounts.services.notification_send`` takes it (``**message``)."""

    message_code: str
    params: dict


def redeemed(*, product, quantity: int) -> Memo:
    """The spend entry of a redemption: "Redeemed: <name> ×<quantity>"."""
    return Memo(memo_code=REDEEMED, memo_params={"name": product_name(product), "quantity": quantity})


def refunded(*, product, quantity: int) -> Memo:
    """The refund entry of a cancelled or rejected order: "Refunded: <name> ×<quantity>"."""
    return Memo(memo_code=REFUNDED, memo_params={"name": product_name(product), "quantity": quantity})


def review_points(*, product) -> Memo:
    """The review points' entry: "Review: <name>"."""
    return Memo(memo_code=REVIEW, memo_params={"name": product_name(product)})


def review_points_removed(*, product) -> Memo:
    """The claw-back of a removed review's points: "Review removed: <name>"."""
    return Memo(memo_code=REVIEW_REMOVED, memo_params={"name": product_name(product)})


def low_stock(*, product) -> Message:
    """The operators' inbox alert: "Low stock: <name> (<n> left)"."""
    return Message(message_code=LOW_STOCK, params={"name": product_name(product), "stock": product.stock})


def payment_timeout_note() -> str:
    """The note on an order the system cancelled because its payment did not arrive in time."""
    return event_note(PAYMENT_TIMEOUT)


def coupon_used_note() -> str:
    """The note on a coupon's order when it is used in store."""
    return event_note(COUPON_USED)


def privilege_taken_back_note() -> str:
    """The note on a completed privilege order cancelled before use: its effect was taken back."""
    return event_note(PRIVILEGE_TAKEN_BACK)


def coupon_second_use_refused_note(*, used_at: str, used_by: str) -> str:
    """The note on a coupon's order when a second use is refused (first used ``used_at`` by ``used_by``)."""
    return event_note(COUPON_SECOND_USE_REFUSED, used_at=used_at, used_by=used_by[:60])


def order_status_note(order, *, overdue: bool) -> str:
    """What an order's status means for its member, in the current language (the order page's hero).

    ``order`` has ``status``, ``pay_by``, ``cash_total``, ``physical``, ``code`` and ``reject_reason``
    (selectors' OrderDetail); ``overdue``: the time to pay ran out. A closed order's cash refund is
    said by the page, which knows the refund.
    """
    status = order.status
    if status == OrderStatus.AWAITING_PAYMENT:
        cash = formats.localize(order.cash_total)
        if overdue:
            return _("The time to pay has run out. The order will be cancelled shortly and your points returned.")
        if order.pay_by:
            time = formats.time_format(timezone.localtime(order.pay_by), "H:i")
            return _("Pay ¥%(cash)s by %(time)s, or the order is cancelled and your points come back.") % {
                "cash": cash,
                "time": time,
            }
        return _("Pay ¥%(cash)s to complete the order.") % {"cash": cash}
    if status == OrderStatus.APPROVED:
        return _("Your order is being packed and will ship soon.") if order.physical else _("Approved.")
    if status == OrderStatus.COMPLETED:
        return _("Your code is ready below.") if order.code else _("All done. Enjoy!")
    if status == OrderStatus.REJECTED:
        return _("The mall could not accept this order: %(reason)s. Your points were refunded.") % {
            "reason": order.reject_reason
        }
    return {
        OrderStatus.PENDING_REVIEW: _("The mall is checking your order. You will get a message when it is approved."),
        OrderStatus.SHIPPED: _("On its way. Confirm receipt once it arrives."),
        OrderStatus.DELIVERED: _("Delivered. Confirm receipt and tell other members what you think."),
        OrderStatus.CANCELLED: _("This order was cancelled and its points were refunded."),
    }.get(status, "")


def lottery_prize_note(*, reference: str) -> str:
    """The note on a lottery prize's order: "Lottery prize (<reference>)", e.g. lottery.draw:42."""
    return event_note(LOTTERY_PRIZE, reference=reference[:80])


@register(LOTTERY_PRIZE)
def _lottery_prize(params: Params) -> str:
    return _("Lottery prize (%(reference)s): 0 points") % {"reference": params["reference"]}


def codes_imported_note(*, n: int) -> str:
    """The note on the stock movement of a code import: "<n> codes imported"."""
    return event_note(CODES_IMPORTED, n=n)


@register(CODES_IMPORTED)
def _codes_imported(params: Params) -> str:
    return ngettext("%(n)s code imported", "%(n)s codes imported", params["n"]) % {"n": params["n"]}


@register(REDEEMED)
def _redeemed(params: Params) -> str:
    return _("Redeemed: %(name)s ×%(quantity)s") % {"name": localized(params["name"]), "quantity": params["quantity"]}


@register(REFUNDED)
def _refunded(params: Params) -> str:
    return _("Refunded: %(name)s ×%(quantity)s") % {"name": localized(params["name"]), "quantity": params["quantity"]}


@register(REVIEW)
def _review(params: Params) -> str:
    return _("Review: %(name)s") % {"name": localized(params["name"])}


@register(REVIEW_REMOVED)
def _review_removed(params: Params) -> str:
    return _("Review removed: %(name)s") % {"name": localized(params["name"])}


def event_note(code: str, **params: object) -> str:
    """The note to store on an order event for a text the mall writes: its code, then its
    parameters as JSON ("catalog.coupon_used", 'catalog.x {"n":1}'). The field stays a short
    string, so every writer of notes keeps passing one; ``note_text`` renders it when read."""
    check(code, params)
    note = f"{code} {json.dumps(params, ensure_ascii=False, separators=(',', ':'))}" if params else code
    if len(note) > NOTE_MAX:
        raise ValueError(f"an order event note may be at most {NOTE_MAX} characters: {note!r}")
    return note


def note_text(note: str) -> str:
    """An order event's (or stock movement's) note as the reader reads it: a note the mall wrote (``event_note``) in
    their language, a person's note as written."""
    if not note.startswith("catalog."):
        return note
    code, _sep, params = note.partition(" ")
    try:
        text = render(code, json.loads(params) if params else {})
    except ValueError:
        text = None
    return text.title if text is not None else note


@register(PAYMENT_TIMEOUT)
def _payment_timeout(params: Params) -> str:
    return _("Payment not received in time")


@register(COUPON_USED)
def _coupon_used(params: Params) -> str:
    return _("Coupon used in store")


@register(PRIVILEGE_TAKEN_BACK)
def _privilege_taken_back(params: Params) -> str:
    return _("Cancelled before use: the privilege was taken back")


@register(COUPON_SECOND_USE_REFUSED)
def _coupon_second_use_refused(params: Params) -> str:
    return _("Second use refused (used %(used_at)s by %(used_by)s)") % {
        "used_at": params["used_at"],
        "used_by": params["used_by"],
    }


@register(LOW_STOCK, inbox=True, sample={"name": {"zh": "保温杯", "en": "Thermos flask"}, "stock": 3})
def _low_stock(params: Params) -> Text:
    return Text(
        _("Low stock: %(name)s (%(stock)s left)") % {"name": localized(params["name"]), "stock": params["stock"]},
        _("Restock it or take it off the shelf in the admin."),
    )


# --- Inbox messages about an order, to its member ---------------------------------------------


# The parameters of an order message in the admin's template picker and trial render.
_ORDER_SAMPLE = {"order": 1024, "name": {"zh": "保温杯", "en": "Thermos flask"}}


def _order(order) -> dict:
    """What every order message names: its number and the item, in both languages."""
    return {"order": order.pk, "name": product_name(order.product)}


def _cash(amount) -> str:
    """A cash amount as stored in a message's parameters ("12.50"; "" for none)."""
    return f"{amount:.2f}" if amount else ""


def order_received(*, order) -> Notice:
    """A placed order waits for the mall's review."""
    return Notice(ORDER_RECEIVED, _order(order))


def order_payment_due(*, order) -> Notice:
    """A placed points + cash order waits for its cash part: how much, and by when."""
    return Notice(
        ORDER_PAYMENT_DUE,
        {**_order(order), "cash": _cash(order.cash_total), "pay_by": order.pay_by.isoformat() if order.pay_by else ""},
    )


def order_paid(*, order) -> Notice:
    """The cash part of an order arrived."""
    return Notice(ORDER_PAID, {**_order(order), "cash": _cash(order.cash_total)})


def order_approved(*, order) -> Notice:
    """A parcel was approved (placed without review, or reviewed): it is packed next."""
    return Notice(ORDER_APPROVED, _order(order))


def order_rejected(*, order) -> Notice:
    """The mall rejected the order, with the operator's reason; points (and paid cash) come back."""
    return Notice(
        ORDER_REJECTED,
        {
            **_order(order),
            "reason": order.reject_reason,
            "points": order.points_total,
            "cash": _cash(order.cash_total if order.paid_at else 0),
        },
    )


def order_shipped(*, order) -> Notice:
    """A parcel left, with its carrier and tracking number."""
    return Notice(ORDER_SHIPPED, {**_order(order), "carrier": order.carrier, "tracking": order.tracking_number})


def order_delivered(*, order) -> Notice:
    """The mall marked a parcel delivered: the member confirms receipt (and may review)."""
    return Notice(ORDER_DELIVERED, _order(order))


def order_code_ready(*, order) -> Notice:
    """A code or coupon order was fulfilled. The code itself is NOT in the message: see ORDER_CODE_READY."""
    return Notice(ORDER_CODE_READY, {**_order(order), "coupon": order.kind == "coupon"})


def order_completed(*, order) -> Notice:
    """An order without a code completed by the mall (a privilege applied)."""
    return Notice(ORDER_COMPLETED, _order(order))


def order_cancelled(*, order, by: str, reason: str = "") -> Notice:
    """The order was cancelled ``by`` the member, an operator or the payment timeout (``CANCELLED_BY_*``),
    with a person's ``reason`` when they gave one; its points (and paid cash) come back."""
    return Notice(
        ORDER_CANCELLED,
        {
            **_order(order),
            "by": by,
            "reason": reason[:200],
            "points": order.points_total,
            "cash": _cash(order.cash_total if order.paid_at else 0),
        },
    )


def order_refunded(*, order, amount, late: bool) -> Notice:
    """Cash was paid back (a cancelled or rejected paid order, or a payment that came after the order was
    cancelled: ``late``)."""
    return Notice(ORDER_REFUNDED, {**_order(order), "cash": _cash(amount), "late": late})


def _title(params: Params, text: str) -> str:
    """ "Order #12 <what happened>: <item>"."""
    return text % {"order": params["order"], "name": localized(params["name"])}


def _status_title(params: Params, status: str) -> str:
    """ "Order #12 · To ship: <item>": the status in the member's words (catalog.order_states), the
    same word the order list and the order page show."""
    return _("Order #%(order)s · %(status)s: %(name)s") % {
        "order": params["order"],
        "status": order_states.member_status_label(status),
        "name": localized(params["name"]),
    }


def _given_back(params: Params) -> str:
    """What comes back to the member of a cancelled or rejected order."""
    parts = []
    if params["points"]:
        parts.append(
            ngettext("Your %(points)s point was refunded.", "Your %(points)s points were refunded.", params["points"])
            % {"points": params["points"]}
        )
    if params["cash"]:
        parts.append(
            _("The ¥%(cash)s you paid is being refunded to your original payment method.") % {"cash": params["cash"]}
        )
    return sentences(*parts)


@register(ORDER_RECEIVED, inbox=True, sample=_ORDER_SAMPLE)
def _order_received(params: Params) -> Text:
    return Text(
        _title(params, _("Order #%(order)s received: %(name)s")),
        _("The mall is checking your order. You will get a message when it is approved."),
    )


@register(
    ORDER_PAYMENT_DUE, inbox=True, sample={**_ORDER_SAMPLE, "cash": "12.50", "pay_by": "2026-12-31T12:00:00+08:00"}
)
def _order_payment_due(params: Params) -> Text:
    title = _title(params, _("Order #%(order)s: one more step to pay for %(name)s"))
    if params["pay_by"]:
        when = clock.minute_text(datetime.fromisoformat(params["pay_by"]))
        body = _("Pay ¥%(cash)s by %(time)s, or the order is cancelled and your points come back.") % {
            "cash": params["cash"],
            "time": when,
        }
    else:
        body = _("Pay ¥%(cash)s to complete the order.") % {"cash": params["cash"]}
    return Text(title, body)


@register(ORDER_PAID, inbox=True, sample={**_ORDER_SAMPLE, "cash": "12.50"})
def _order_paid(params: Params) -> Text:
    return Text(
        _title(params, _("Order #%(order)s paid: %(name)s")),
        _("We received your payment of ¥%(cash)s.") % {"cash": params["cash"]},
    )


@register(ORDER_APPROVED, inbox=True, sample=_ORDER_SAMPLE)
def _order_approved(params: Params) -> Text:
    return Text(
        _status_title(params, OrderStatus.APPROVED),
        _("Your order is being packed and will ship soon."),
    )


@register(ORDER_REJECTED, inbox=True, sample={**_ORDER_SAMPLE, "reason": "out of stock", "points": 800, "cash": ""})
def _order_rejected(params: Params) -> Text:
    body = _("The mall could not accept this order: %(reason)s.") % {"reason": params["reason"]}
    return Text(_status_title(params, OrderStatus.REJECTED), sentences(body, _given_back(params)))


@register(ORDER_SHIPPED, inbox=True, sample={**_ORDER_SAMPLE, "carrier": "SF Express", "tracking": "SF1234567890"})
def _order_shipped(params: Params) -> Text:
    return Text(
        _status_title(params, OrderStatus.SHIPPED),
        _("Carrier: %(carrier)s. Tracking number: %(tracking)s. Confirm receipt once it arrives.")
        % {"carrier": params["carrier"], "tracking": params["tracking"]},
    )


@register(ORDER_DELIVERED, inbox=True, sample=_ORDER_SAMPLE)
def _order_delivered(params: Params) -> Text:
    return Text(
        _status_title(params, OrderStatus.DELIVERED),
        _("Confirm receipt and tell other members what you think."),
    )


@register(ORDER_CODE_READY, inbox=True, sample={**_ORDER_SAMPLE, "coupon": False})
def _order_code_ready(params: Params) -> Text:
    if params["coupon"]:
        title = _title(params, _("Order #%(order)s: your coupon for %(name)s is ready"))
    else:
        title = _title(params, _("Order #%(order)s: your code for %(name)s is ready"))
    return Text(title, _("Open the order to see it. Keep it to yourself: anyone who has it can use it."))


@register(ORDER_COMPLETED, inbox=True, sample=_ORDER_SAMPLE)
def _order_completed(params: Params) -> Text:
    return Text(_title(params, _("Order #%(order)s completed: %(name)s")), _("All done. Enjoy!"))


@register(
    ORDER_CANCELLED,
    inbox=True,
    sample={**_ORDER_SAMPLE, "by": CANCELLED_BY_MEMBER, "reason": "", "points": 800, "cash": ""},
)
def _order_cancelled(params: Params) -> Text:
    by, reason = params["by"], params["reason"]
    if by == CANCELLED_BY_TIMEOUT:
        why = _("The payment did not arrive in time, so the order was cancelled.")
    elif by == CANCELLED_BY_MEMBER:
        why = (
            _("You cancelled this order: %(reason)s.") % {"reason": reason}
            if reason
            else _("You cancelled this order.")
        )
    elif reason:
        why = _("The mall cancelled this order: %(reason)s.") % {"reason": reason}
    else:
        why = _("The mall cancelled this order.")
    return Text(_title(params, _("Order #%(order)s cancelled: %(name)s")), sentences(why, _given_back(params)))


@register(ORDER_REFUNDED, inbox=True, sample={**_ORDER_SAMPLE, "cash": "12.50", "late": False})
def _order_refunded(params: Params) -> Text:
    if params["late"]:
        body = _(
            "Your payment of ¥%(cash)s arrived after the order was cancelled, so it was refunded to your original "
            "payment method."
        )
    else:
        body = _("¥%(cash)s was refunded to your original payment method.")
    title = _("Order #%(order)s: ¥%(cash)s refunded") % {"order": params["order"], "cash": params["cash"]}
    return Text(title, body % {"cash": params["cash"]})
