"""Reads of a member's orders: the list with its tabs, one order with its events, codes and cash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    Subquery,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import notices, order_states, payments, refund_states
from catalog.enums import ProductKind, RefundReason
from catalog.models import (
    CashRefund,
    Code,
    Order,
    OrderEffect,
    OrderEvent,
    ProductImage,
    Review,
)
from catalog.order_states import ORDER_TABS, TABS_UNREVIEWED, Action
from catalog.selectors.common import ReviewView, media_url, review_view
from catalog.services import privileges
from pointsmall.kernel.masking import mask_phone

ORDERS_PAGE_SIZE = 10


# --- Orders ------------------------------------------------------------------------------------


class _OrderFlags:
    """What the member may do with an order, asked of order_states (one answer for list and detail).

    Needs ``status``, ``pay_by``, ``paid_at`` and ``reviewed`` on the view it is mixed into.
    """

    status: str
    pay_by: datetime | None
    paid_at: datetime | None
    reviewed: bool

    @property
    def awaiting_payment(self) -> bool:
        return order_states.allows(Action.PAY, self.status)

    @property
    def payment_overdue(self) -> bool:
        return order_states.payment_overdue(self, timezone.now())

    @property
    def can_pay(self) -> bool:
        return order_states.payable(self, timezone.now())

    @property
    def can_review(self) -> bool:
        return order_states.allows(Action.REVIEW, self.status) and not self.reviewed

    @property
    def can_confirm_receipt(self) -> bool:
        return self.status in order_states.RECEIVABLE


@dataclass(frozen=True)
class _OrderBase(_OrderFlags):
    """What a row of "My orders" and the order page both show."""

    id: int
    product_id: int
    product_name: str
    kind: str
    quantity: int
    unit_points: int
    points_total: int
    cash_total: Decimal
    status: str
    status_label: str
    created_at: datetime
    pay_by: datetime | None
    paid_at: datetime | None
    thumb_url: str


@dataclass(frozen=True)
class OrderRow(_OrderBase):
    reviewed: bool


def _order_name(order: Order) -> str:
    """The item's name in the member's language; the order's own snapshot if the product has none."""
    return order.product.name or order.product_name


def _order_thumb() -> Subquery:
    return Subquery(
        ProductImage.objects.filter(product=OuterRef("product_id")).order_by("sort", "pk").values("thumb_list")[:1]
    )


def _refund_owed() -> Exists:
    return Exists(CashRefund.objects.filter(order=OuterRef("pk"), status__in=refund_states.OWED))


def _order_base(order: Order) -> dict:
    """The fields of :class:`_OrderBase` from an order loaded with its product, ``thumb`` and
    ``refund_owed``."""
    return {
        "id": order.pk,
        "product_id": order.product_id,
        "product_name": _order_name(order),
        "kind": order.kind,
        "quantity": order.quantity,
        "unit_points": order.unit_points,
        "points_total": order.points_total,
        "cash_total": order.cash_total,
        "status": order.status,
        "status_label": order_states.member_status_label(
            order.status, refund_owed=bool(getattr(order, "refund_owed", False))
        ),
        "created_at": order.created_at,
        "pay_by": order.pay_by,
        "paid_at": order.paid_at,
        "thumb_url": media_url("thumb_list", order.thumb),
    }


def _tab_filter(tab: str) -> Q:
    """The orders ``tab`` of ORDER_TABS holds (an unknown tab: all of them)."""
    statuses = ORDER_TABS.get(tab, ())
    condition = Q(status__in=statuses) if statuses else Q()
    if tab in TABS_UNREVIEWED:
        condition &= Q(review__isnull=True)
    return condition


def order_page(*, member_id: int, tab: str = "all", page: int | str = 1, per_page: int = ORDERS_PAGE_SIZE) -> Page:
    """A page of the member's orders in ``tab`` (a key of ORDER_TABS; unknown: all), newest first,
    as OrderRow objects (two queries)."""
    orders = (
        Order.objects.filter(_tab_filter(tab), member_id=member_id)
        .select_related("product")
        .defer("product__description_zh", "product__description_en")
        .annotate(
            thumb=_order_thumb(),
            reviewed=Exists(Review.objects.filter(order=OuterRef("pk"))),
            refund_owed=_refund_owed(),
        )
        .order_by("-created_at", "-pk")
    )
    result = Paginator(orders, per_page).get_page(page)
    result.object_list = [OrderRow(**_order_base(o), reviewed=bool(o.reviewed)) for o in result.object_list]
    return result


def order_tab_counts(*, member_id: int) -> dict[str, int]:
    """How many of the member's orders each tab of ORDER_TABS holds (one query): tab -> count."""
    rows = (
        Order.objects.filter(member_id=member_id)
        .values("status")
        .annotate(n=Count("pk"), unreviewed=Count("pk", filter=Q(review__isnull=True)))
        .values_list("status", "n", "unreviewed")
    )
    total = {status: n for status, n, _unreviewed in rows}
    unreviewed = {status: u for status, _n, u in rows}
    counts = {}
    for tab, statuses in ORDER_TABS.items():
        by_status = unreviewed if tab in TABS_UNREVIEWED else total
        counts[tab] = sum(by_status.get(s, 0) for s in statuses) if statuses else sum(total.values())
    return counts


@dataclass(frozen=True)
class OrderEventView:
    status: str
    status_label: str
    note: str
    created_at: datetime
    by_member: bool


@dataclass(frozen=True)
class CodeView:
    code: str
    valid_until: datetime | None
    used_at: datetime | None

    @property
    def expired(self) -> bool:
        return self.valid_until is not None and self.valid_until <= timezone.now()


@dataclass(frozen=True)
class ProgressStep:
    label: str
    done: bool
    current: bool


@dataclass(frozen=True)
class OrderDetail(_OrderBase):
    product_on_shelf: bool
    kind_label: str
    points_saved: int
    recipient: str
    phone_masked: str
    address: str
    postal_code: str
    carrier: str
    tracking_number: str
    reject_reason: str
    events: list[OrderEventView]
    code: CodeView | None
    review: ReviewView | None
    # A completed privilege whose effect is applied, not taken back, and can be taken back: the
    # member may still cancel it while unused (the cancel asks whether it was used).
    unused_privilege: bool = False

    @property
    def reviewed(self) -> bool:
        return self.review is not None

    @property
    def closed(self) -> bool:
        return self.status in order_states.CLOSED

    @property
    def status_note(self) -> str:
        """What the status means for the member, in their language (the cash refund is said apart)."""
        return notices.order_status_note(self, overdue=self.payment_overdue)

    @property
    def can_cancel(self) -> bool:
        return order_states.allows(Action.CANCEL, self.status, by=order_states.Actor.MEMBER) or self.can_cancel_unused

    @property
    def can_cancel_unused(self) -> bool:
        """A completed privilege the member may cancel while its effect is unused."""
        conditions = (order_states.Condition.UNUSED_PRIVILEGE,) if self.unused_privilege else ()
        return order_states.allows(
            Action.CANCEL_UNUSED, self.status, by=order_states.Actor.MEMBER, conditions=conditions
        )

    @property
    def physical(self) -> bool:
        return self.kind == ProductKind.PHYSICAL

    @property
    def has_cash(self) -> bool:
        return self.cash_total > 0

    @property
    def progress(self) -> list[ProgressStep]:
        """The order's road from placed to completed, for the stepper (empty once it is closed)."""
        if self.closed:
            return []
        labels = {
            "placed": _("Placed"),
            "paid": _("Paid"),
            "shipped": _("Shipped"),
            "delivered": _("Delivered"),
            "completed": _("Completed"),
        }
        steps = [
            (labels[milestone], done)
            for milestone, done in order_states.progress(self.status, has_cash=self.has_cash, physical=self.physical)
        ]
        first_open = next((index for index, (_label, done) in enumerate(steps) if not done), None)
        return [
            ProgressStep(label=str(label), done=done, current=index == first_open)
            for index, (label, done) in enumerate(steps)
        ]


def order_detail(*, member_id: int, order_id: int) -> OrderDetail | None:
    """One of the member's own orders with its history, code and review; None for anyone else's."""
    order = (
        Order.objects.filter(pk=order_id, member_id=member_id)
        .select_related("product")
        .annotate(thumb=_order_thumb(), refund_owed=_refund_owed())
        .first()
    )
    if order is None:
        return None
    events = [
        OrderEventView(
            status=e.to_status,
            status_label=order_states.member_status_label(e.to_status),
            note=notices.note_text(e.note),
            created_at=e.created_at,
            by_member=e.actor_id == member_id,
        )
        for e in OrderEvent.objects.filter(order_id=order.pk).order_by("created_at", "pk")
    ]
    code = Code.objects.filter(order_id=order.pk).values("code", "valid_until", "used_at").first()
    review = Review.objects.filter(order_id=order.pk).select_related("member").first()
    return OrderDetail(
        **_order_base(order),
        product_on_shelf=order.product.on_shelf,
        kind_label=str(ProductKind(order.kind).label),
        points_saved=order.points_saved,
        recipient=order.recipient,
        phone_masked=mask_phone(order.phone),
        address=order.address,
        postal_code=order.postal_code,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        reject_reason=order.reject_reason,
        events=events,
        code=CodeView(**code) if code else None,
        review=review_view(review) if review else None,
        unused_privilege=privileges.order_effect_revocable(order=order),
    )


def unused_privilege_order_ids(*, order_ids: list[int]) -> set[int]:
    """Which of ``order_ids`` are completed privileges whose effect may still be taken back (applied,
    not taken back, with a reverser): those the member or an operator may cancel while unused. One
    query; asks no reverser (whether the effect was used is only known when cancelling)."""
    effects = OrderEffect.objects.filter(
        order_id__in=order_ids,
        order__kind=ProductKind.PRIVILEGE,
        order__status__in=order_states.COMPLETED,
        applied_at__isnull=False,
        reversed_at__isnull=True,
    )
    return {effect.order_id for effect in effects if privileges.effect_revocable(effect)}


@dataclass(frozen=True)
class CashRefundView:
    amount: Decimal
    status: str
    status_label: str
    reason: str
    created_at: datetime
    refunded_at: datetime | None

    @property
    def owed(self) -> bool:
        """The money is still on its way back (due, or failed and being retried)."""
        return refund_states.owed(self.status)

    @property
    def late_payment(self) -> bool:
        return self.reason == RefundReason.LATE_PAYMENT


@dataclass(frozen=True)
class OrderCash:
    """The cash part of one order: what was paid, how long a refund takes, the refunds made or owed."""

    amount: Decimal
    paid_at: datetime | None
    refund_working_days: int
    refunds: list[CashRefundView]

    @property
    def refund(self) -> CashRefundView | None:
        return self.refunds[0] if self.refunds else None


def order_cash(*, member_id: int, order_id: int) -> OrderCash | None:
    """The member's own order's cash part (None: not theirs, or points only). Two queries."""
    order = (
        Order.objects.filter(pk=order_id, member_id=member_id, cash_total__gt=0)
        .values("cash_total", "paid_at", "payment_backend")
        .first()
    )
    if order is None:
        return None
    backend = payments.backend_named(order["payment_backend"] or payments.configured_backend_name())
    refunds = [
        CashRefundView(
            amount=r.amount,
            status=r.status,
            status_label=r.get_status_display(),
            reason=r.reason,
            created_at=r.created_at,
            refunded_at=r.refunded_at,
        )
        for r in CashRefund.objects.filter(order_id=order_id).order_by("-created_at", "-pk")
    ]
    return OrderCash(
        amount=order["cash_total"],
        paid_at=order["paid_at"],
        refund_working_days=backend.refund_working_days,
        refunds=refunds,
    )
