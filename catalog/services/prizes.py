"""Lottery prizes delivered as ordinary catalog orders (issue #11).

A prize draw that wins a catalog item or a code places a 0-point, 0-cash order through the
catalog's one stock module (``stock_take``) and, for a code or coupon item, takes a code from
the item's pool, as a redemption does (``catalog/services/redemption.py``). The lottery cannot
import the catalog; ``pointsmall/wiring.py`` registers :func:`prize_order_place` with it.

Lock order (inside the draw's transaction, after the lottery's own locks): a free code (SKIP
LOCKED), then the product's stock row last with the guarded UPDATE.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import selectors as accounts_selectors
from catalog import locks, notices, order_states, rules
from catalog.enums import ProductKind
from catalog.exceptions import AddressRequiredError, NoCodesLeftError, ProductUnavailableError
from catalog.models import Code, Order, Product
from catalog.services import privileges
from catalog.services.orders import order_created_announce, order_event_record
from catalog.services.stock import stock_take


def _deliverable(product: Product) -> bool:
    """Whether the catalog still gives this item out: redeemable (on the shelf, in an active
    category: ``catalog.rules.redeemable``) and its sale not over."""
    if not rules.redeemable(on_shelf=product.on_shelf, category_active=product.category.active):
        return False
    return product.sale_ends_at is None or product.sale_ends_at > timezone.now()


def prize_needs_address(*, product_id: int) -> bool:
    """Whether a prize of this item is shipped (a physical item needs the winner's address)."""
    return Product.objects.filter(pk=product_id, kind=ProductKind.PHYSICAL).exists()


def prize_capacity(*, product_id: int) -> int:
    """How many prizes of this item the catalog could deliver now: its stock, and for a code or
    coupon item at most its free codes; 0 for an unknown item or one off the shelf or past its
    sale window. A read: nothing is reserved (a redemption may still take the units)."""
    product = Product.objects.filter(pk=product_id).select_related("category").first()
    if product is None or not _deliverable(product):
        return 0
    capacity = product.stock
    if product.needs_code:
        capacity = min(capacity, Code.objects.filter(product_id=product.pk, order__isnull=True).count())
    return capacity


def prize_market_value(*, product_id: int) -> Decimal:
    """The item's market price, yuan (Decimal("0.00") for an unknown item): what a prize of it is worth."""
    price = Product.objects.filter(pk=product_id).values_list("market_price", flat=True).first()
    return price if price is not None else Decimal("0.00")


@transaction.atomic
def prize_order_place(*, member_id: int, product_id: int, reference: str, address_id: int | None = None) -> int:
    """Place the 0-point order that delivers a lottery prize; returns the order id.

    ``reference`` (e.g. "lottery.draw:42", at most 80 characters) is the order's idempotency
    key: safe to call twice, the second call returns the first order. The order starts as a
    redemption's would (a parcel waits to ship, a code is done at once) but never awaits
    payment or review; its first history line notes "lottery prize" (``notices.lottery_prize_note``).
    Raises ProductUnavailableError (unknown item), AddressRequiredError (a physical item
    without ``address_id``), NoCodesLeftError, SoldOutError (the item's stock): nothing written.
    Locks a free code (SKIP LOCKED), then the product's stock row.
    """
    existing = Order.objects.filter(idempotency_key=reference).values_list("pk", flat=True).first()
    if existing is not None:
        return existing
    product = Product.objects.filter(pk=product_id).select_related("category").first()
    if product is None or not _deliverable(product):
        # Taken off the shelf (or its sale ended) after the campaign was published: the draw
        # falls through to no prize, as for a prize that is gone.
        raise ProductUnavailableError()
    address = None
    if product.kind == ProductKind.PHYSICAL:
        if address_id is None:
            raise AddressRequiredError()
        address = accounts_selectors.address_get(user_id=member_id, address_id=address_id)
    now = timezone.now()
    status = order_states.opening_status(
        awaiting_cash=False, requires_review=False, physical=product.kind == ProductKind.PHYSICAL
    )
    order = Order.objects.create(
        member_id=member_id,
        product=product,
        product_name=product.name,
        kind=product.kind,
        quantity=1,
        unit_points=0,
        points_total=0,
        cash_total=0,
        status=status,
        idempotency_key=reference,
        recipient=address.recipient if address else "",
        phone=address.phone if address else "",
        address=f"{address.region} {address.detail}" if address else "",
        postal_code=address.postal_code if address else "",
        created_at=now,
    )
    note = notices.lottery_prize_note(reference=reference)
    if product.needs_code:
        code = locks.free_codes_for_update(product_id=product.pk).first()
        if code is None:
            raise NoCodesLeftError()
        valid_until = now + timedelta(days=product.coupon_valid_days) if product.kind == ProductKind.COUPON else None
        Code.objects.filter(pk=code.pk).update(order=order, assigned_at=now, valid_until=valid_until)
    stock_take(product_id=product.pk, quantity=1, order_id=order.pk, note=note)
    order_event_record(order_id=order.pk, from_status="", to_status=status, note=note, created_at=now)
    privileges.order_effect_record(order=order, product=product)
    privileges.order_effect_apply(order=order)
    order_created_announce(order=order, source="lottery_prize")
    return order.pk
