"""The catalog's row locks: every ``select_for_update`` of the catalog is one of these querysets.

Lock order everywhere (docs/architecture.md): the member's points account first
(``points.services.account_lock``), then the catalog's rows — the order, then its effect or a
free code, then a refund — and the product's stock row last, with a guarded UPDATE held for
the shortest time (``catalog.services.stock``). Where several rows of one table are locked
they are taken in primary-key order, so two writers never wait on each other in a circle.

Each function returns a queryset; the caller filters it and evaluates it inside its own
transaction (a lock outside one is an error in Django). Anchor: saleor ``order/lock_objects.py``.
"""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import CashRefund, Code, Order, OrderEffect, Product, Review


def orders_for_update() -> QuerySet[Order]:
    """Order rows, locked (pk order)."""
    return Order.objects.select_for_update().order_by("pk")


def order_effects_for_update() -> QuerySet[OrderEffect]:
    """A privilege order's effect rows, locked (pk order): applied once on completion."""
    return OrderEffect.objects.select_for_update().order_by("pk")


def free_codes_for_update(*, product_id: int) -> QuerySet[Code]:
    """A product's codes not yet given to an order, locked, skipping codes another redemption holds.

    SKIP LOCKED: two members redeeming the same item each get a different free code at
    once instead of queueing for the first one (pk order, the oldest code first).
    """
    return (
        Code.objects.select_for_update(skip_locked=True)
        .filter(product_id=product_id, order__isnull=True)
        .order_by("pk")
    )


def reviews_for_update() -> QuerySet[Review]:
    """Review rows with their order, both locked (pk order)."""
    return Review.objects.select_for_update().select_related("order").order_by("pk")


def cash_refunds_for_update() -> QuerySet[CashRefund]:
    """Cash refund rows, locked (pk order)."""
    return CashRefund.objects.select_for_update().order_by("pk")


def products_for_update() -> QuerySet[Product]:
    """Product rows, locked (pk order): for a change that reads the product before it writes
    stock (a code import). A plain stock change needs no lock first: its guarded UPDATE locks."""
    return Product.objects.select_for_update().order_by("pk")
