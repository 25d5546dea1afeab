"""Mall-wide figures of the catalog for the operators' dashboard (docs/decisions/0031): orders and
redemptions per business day, by category and by product, members who ordered, the low-stock list
and members redeeming unusually fast. Each function is one aggregate query.

An *order* is any order placed that day, whatever became of it; a *redemption* is an order placed
that day that still stands (not cancelled, not rejected), counted once per order (not per unit).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate

from catalog.enums import OrderStatus
from catalog.models import Category, Order, Product
from pointsmall.kernel import clock
from pointsmall.kernel.language import pick_language

UNDONE = (OrderStatus.CANCELLED, OrderStatus.REJECTED)


def _placed(first: date, last: date):
    return (
        Order.objects.filter(
            created_at__gte=clock.business_day_start(first),
            created_at__lt=clock.business_day_start(last + timedelta(days=1)),
        )
        .annotate(day=TruncDate("created_at", tzinfo=clock.business_zone()))
        .order_by()
    )


def orders_by_day(*, first: date, last: date) -> dict[date, int]:
    """Orders placed per business day, any status."""
    return dict(_placed(first, last).values("day").annotate(n=Count("pk")).values_list("day", "n"))


def redemptions_by_category(*, first: date, last: date) -> dict[tuple[date, int], int]:
    """Standing redemptions per (business day, category id)."""
    rows = (
        _placed(first, last)
        .exclude(status__in=UNDONE)
        .values("day", "product__category_id")
        .annotate(n=Count("pk"))
        .values_list("day", "product__category_id", "n")
    )
    return {(day, category): n for day, category, n in rows}


def redemptions_by_product(*, first: date, last: date) -> dict[tuple[date, int], int]:
    """Standing redemptions per (business day, product id): the bottom of the product funnel."""
    rows = (
        _placed(first, last)
        .exclude(status__in=UNDONE)
        .values("day", "product_id")
        .annotate(n=Count("pk"))
        .values_list("day", "product_id", "n")
    )
    return {(day, product): n for day, product, n in rows}


def ordering_members_by_day(*, first: date, last: date) -> dict[date, set[int]]:
    """The members who placed an order on each business day (for "active members")."""
    result: dict[date, set[int]] = defaultdict(set)
    for day, member in _placed(first, last).values_list("day", "member_id").distinct():
        result[day].add(member)
    return dict(result)


def category_names() -> dict[int, str]:
    """Every category's name in the reader's language (the other when blank), by id."""
    return {c.pk: pick_language(zh=c.name_zh, en=c.name_en, fallback=True) for c in Category.objects.order_by("pk")}


def product_names(*, ids: list[int] | None = None) -> dict[int, str]:
    """Product names in the reader's language (the other when blank), by id (``ids``: only these)."""
    products = Product.objects.order_by("pk")
    if ids is not None:
        products = products.filter(pk__in=ids)
    return {
        p.pk: pick_language(zh=p.name_zh, en=p.name_en, fallback=True)
        for p in products.only("pk", "name_zh", "name_en")
    }


@dataclass(frozen=True)
class LowStockRow:
    id: int
    name: str
    stock: int
    threshold: int
    on_shelf: bool


def low_stock(*, limit: int = 50) -> list[LowStockRow]:
    """Products at or below their low-stock alert level (``ProductQuerySet.low_stock``), emptiest
    first (one query)."""
    products = Product.objects.low_stock().order_by("stock", "pk")[:limit]
    return [
        LowStockRow(
            id=p.pk,
            name=pick_language(zh=p.name_zh, en=p.name_en, fallback=True),
            stock=p.stock,
            threshold=p.low_stock_threshold,
            on_shelf=p.on_shelf,
        )
        for p in products
    ]


@dataclass(frozen=True)
class FastRedeemer:
    user_id: int
    orders: int


def fast_redeemers(*, day: date, orders_over: int, limit: int = 20) -> list[FastRedeemer]:
    """Members who placed more than ``orders_over`` orders on ``day``, most first (one query)."""
    rows = (
        _placed(day, day)
        .values("member_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=orders_over)
        .order_by("-n", "member_id")[:limit]
    )
    return [FastRedeemer(user_id=r["member_id"], orders=r["n"]) for r in rows]


def frequent_refunders(*, since: date, undone_at_least: int, limit: int = 20) -> list[FastRedeemer]:
    """Members with at least ``undone_at_least`` cancelled or rejected orders placed since ``since``
    (one query): a pattern worth a look, not a verdict."""
    rows = (
        Order.objects.filter(created_at__gte=clock.business_day_start(since), status__in=UNDONE)
        .values("member_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=undone_at_least)
        .order_by("-n", "member_id")[:limit]
    )
    return [FastRedeemer(user_id=r["member_id"], orders=r["n"]) for r in rows]


__all__ = [
    "UNDONE",
    "FastRedeemer",
    "LowStockRow",
    "category_names",
    "fast_redeemers",
    "frequent_refunders",
    "low_stock",
    "ordering_members_by_day",
    "orders_by_day",
    "product_names",
    "redemptions_by_category",
    "redemptions_by_product",
]
