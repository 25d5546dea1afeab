"""Demo catalog: categories, ~60 products with generated pictures, flash sales, sale prices,
code pools, a shop-staff account and orders in every state for the demo members.

What the demo shows is data, in ``catalog/demo_data/*.toml`` (read by ``catalog.demo.data``);
this package only creates rows from it: ``products`` (pictures by ``pictures``), ``orders``.

Idempotent: rows are found by stable keys (category slug, product English name, order
idempotency key) and every write goes through the catalog's services, so a second run
changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from catalog.demo.data import CATEGORIES, DEMO_PIN, ITEMS, ORDERS, SHOP_STAFF_EMAIL
from catalog.demo.orders import seed_orders, seed_shop_staff
from catalog.demo.pictures import product_picture
from catalog.demo.products import seed_product
from catalog.enums import ProductKind
from catalog.models import Category, Code

__all__ = ["CATEGORIES", "DEMO_PIN", "ITEMS", "ORDERS", "SHOP_STAFF_EMAIL", "product_picture", "seed_catalog"]


def seed_catalog(stdout) -> None:
    """Seed the demo catalog and orders. Safe to run twice: the second run changes nothing."""
    now = timezone.now()
    admin = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    admin_id = admin.pk if admin else None
    created = 0
    # One transaction for the catalog (one commit instead of hundreds); the orders below are
    # placed one by one, as members would, because the PIN check must commit on its own.
    with transaction.atomic():
        for sort, (slug, zh, en, hue, icon, tile_icon) in enumerate(CATEGORIES):
            category, _created = Category.objects.get_or_create(
                slug=slug, defaults={"name_zh": zh, "name_en": en, "sort": (sort + 1) * 10, "icon": tile_icon}
            )
            if not category.icon:  # a demo seeded before categories had icons gets its own
                Category.objects.filter(pk=category.pk).update(icon=tile_icon)
            for item in (i for i in ITEMS if i.category == slug):
                created += seed_product(item, category, hue, icon, admin_id, now)
    stdout.write(f"Catalog: {len(ITEMS)} products in {len(CATEGORIES)} categories ({created} new).")
    seed_shop_staff(stdout)
    orders = seed_orders(stdout, admin_id)
    if orders:
        stdout.write(f"Demo orders: {len(orders)} in every state. Demo payment PIN: {DEMO_PIN}")
    unused = (
        Code.objects.filter(order__in=orders, product__kind=ProductKind.COUPON, used_at__isnull=True)
        .values_list("code", flat=True)
        .first()
    )
    if unused:
        stdout.write(f"A coupon to verify at /mall/staff/coupons/: {unused}")
