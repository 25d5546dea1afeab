"""Reads for the operators' back office (``catalog.admin``): code pools, the stock audit, cash refunds.

Unlike the members' selectors these hand back querysets and model rows: the admin pages
paginate, link and annotate them. No locks, no writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce

from catalog import payments, refund_states
from catalog.enums import RefundReason, RefundStatus
from catalog.models import CashRefund, Code, Order, Product, StockMovement

# The three states of a code in its pool, as filters on Code: not given yet, given to a member
# but not used in store, used.
CODE_STATES: dict[str, Q] = {
    "free": Q(order__isnull=True),
    "given": Q(order__isnull=False, used_at__isnull=True),
    "used": Q(used_at__isnull=False),
}


def code_pool_annotations() -> dict[str, Coalesce]:
    """``pool_free``, ``pool_given``, ``pool_used`` for ``Product.objects.annotate(**…)``.

    Correlated subqueries: one indexed count each, no row explosion when products are listed.
    """

    def counted(state: Q) -> Coalesce:
        rows = (
            Code.objects.filter(state, product=OuterRef("pk"))
            .order_by()
            .values("product")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    return {f"pool_{state}": counted(condition) for state, condition in CODE_STATES.items()}


@dataclass(frozen=True)
class CodePool:
    pool_free: int
    pool_given: int
    pool_used: int


def product_code_pool(*, product_id: int) -> CodePool:
    """How many of one product's codes are free, given and used (one query)."""
    annotations = code_pool_annotations()
    counts = Product.objects.filter(pk=product_id).annotate(**annotations).values(*annotations).get()
    return CodePool(**counts)


def stock_movements(*, product_id: int) -> QuerySet[StockMovement]:
    """A product's stock movements, newest first, each with ``running``: the sum of the deltas up to it."""
    return (
        StockMovement.objects.filter(product_id=product_id)
        .select_related("actor", "order")
        .annotate(running=Window(Sum("delta"), order_by=F("pk").asc()))
        .order_by("-pk")
    )


@dataclass(frozen=True)
class StockAudit:
    """Does a product's stock agree with its movements?

    ``recorded`` is the sum of every movement; ``broken_rows`` counts movements whose
    ``stock_after`` is not the running sum up to them; ``difference`` is stock − recorded.
    """

    recorded: int
    broken_rows: int
    difference: int

    @property
    def ok(self) -> bool:
        return self.difference == 0 and self.broken_rows == 0


def stock_audit(*, product_id: int, stock: int) -> StockAudit:
    """The audit of a product whose stock is ``stock`` now (two queries)."""
    movements = StockMovement.objects.filter(product_id=product_id)
    recorded = movements.aggregate(total=Coalesce(Sum("delta"), 0))["total"]
    broken_rows = (
        movements.annotate(running=Window(Sum("delta"), order_by=F("pk").asc()))
        .exclude(running=F("stock_after"))
        .count()
    )
    return StockAudit(recorded=recorded, broken_rows=broken_rows, difference=stock - recorded)


def cash_refunds_to_record(*, orders: QuerySet[Order]) -> tuple[list[CashRefund], list[CashRefund]]:
    """(refunds an operator may record as paid back by hand, the other owed ones) of ``orders``.

    Owed and recordable as ``refund_states`` says (owed: due or failed; recordable: failed, or
    due of an offline payment). Both lists by order, then refund.
    """
    owed = list(
        CashRefund.objects.filter(order__in=orders, status__in=refund_states.OWED)
        .select_related("order", "member")
        .order_by("order_id", "pk")
    )
    recordable = [
        r
        for r in owed
        if refund_states.recordable_by_hand(
            r.status, refunds_by_gateway=payments.backend_named(r.backend).refunds_by_gateway
        )
    ]
    return recordable, [r for r in owed if r not in recordable]


def cash_refunds_failed(*, orders: QuerySet[Order]) -> QuerySet[CashRefund]:
    """The failed cash refunds of ``orders``, oldest first (for a retry)."""
    return CashRefund.objects.filter(order__in=orders, status=RefundStatus.FAILED).order_by("pk")


def cash_refunds_opened_by_rejection(
    *, orders: QuerySet[Order], actor_id: int, since: datetime
) -> QuerySet[CashRefund]:
    """The cash refunds that rejecting ``orders`` opened: by ``actor_id``, since ``since``, by order."""
    return CashRefund.objects.filter(
        order__in=orders, reason=RefundReason.REJECTED, created_by_id=actor_id, created_at__gte=since
    ).order_by("order_id")
