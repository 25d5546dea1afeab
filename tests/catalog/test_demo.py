"""The demo catalog: ~60 products with pictures, flash sales, code pools, orders in every state; idempotent."""

from __future__ import annotations

import io

from django.contrib.auth.models import Group
from django.utils import timezone
from PIL import Image

from accounts.models import Address, PaymentPin, User
from catalog.demo import CATEGORIES, DEMO_PIN, ITEMS, SHOP_STAFF_EMAIL, product_picture, seed_catalog
from catalog.enums import OrderStatus, ProductKind
from catalog.models import Category, Code, Order, OrderEvent, Product, ProductImage, SalePrice, StockMovement
from points import services as points_services
from points.models import Entry
from tests.factories import MemberFactory

DEMO_MEMBERS = {"alice@example.com": 40_000, "bob@example.com": 10_000, "carol@example.com": 3_000}


def row_counts() -> dict[str, int]:
    models = [Category, Product, ProductImage, SalePrice, Code, Order, OrderEvent, StockMovement, Entry, Address, User]
    return {model.__name__: model.objects.count() for model in models} | {
        "used codes": Code.objects.filter(used_at__isnull=False).count(),
        "pins": PaymentPin.objects.count(),
    }


def test_the_demo_catalog_is_complete_idempotent_and_leaves_the_ledger_consistent(media_root, operator, fund):
    out = io.StringIO()
    seed_catalog(out)  # before the demo members exist: the catalog alone
    assert Order.objects.count() == 0
    members = {email: MemberFactory(email=email) for email in DEMO_MEMBERS}
    fund(members["alice@example.com"], DEMO_MEMBERS["alice@example.com"])
    fund(members["bob@example.com"], DEMO_MEMBERS["bob@example.com"])
    seed_catalog(out)  # carol has no points yet: her orders are skipped with a note
    assert "skipped demo order sketchbook for carol@example.com: Not enough points: you have 0" in out.getvalue()
    assert not Order.objects.filter(member=members["carol@example.com"]).exists()
    fund(members["carol@example.com"], DEMO_MEMBERS["carol@example.com"])

    seed_catalog(out)
    after_first = row_counts()
    seed_catalog(out)
    assert row_counts() == after_first

    assert set(Category.objects.values_list("slug", flat=True)) == {slug for slug, *_rest in CATEGORIES}
    assert Product.objects.count() == len(ITEMS) >= 60
    assert not Product.objects.filter(images__isnull=True).exists()
    assert not Product.objects.exclude(name_zh__regex=r"[\u4e00-\u9fff]").exists()
    assert set(Product.objects.values_list("kind", flat=True)) == set(ProductKind.values)
    assert Product.objects.filter(min_tier_rank__gt=0).count() >= 4
    assert Product.objects.filter(requires_review=True).count() >= 3
    assert Product.objects.filter(cash_price__gt=0).count() >= 4

    now = timezone.now()
    running = Product.objects.filter(flash_sale=True, sale_starts_at__lte=now, sale_ends_at__gt=now)
    upcoming = Product.objects.filter(flash_sale=True, sale_starts_at__gt=now)
    assert running.exists() and upcoming.exists()
    assert all((p.sale_ends_at - now).total_seconds() < 6 * 3600 for p in running)
    assert all((p.sale_starts_at - now).total_seconds() <= 3600 for p in upcoming)
    assert SalePrice.objects.filter(starts_at__lte=now, ends_at__gt=now).count() >= 3

    for product in Product.objects.filter(kind__in=[ProductKind.VIRTUAL, ProductKind.COUPON]):
        free = Code.objects.filter(product=product, order__isnull=True).count()
        assert product.stock == free, product.name_en
    for product in Product.objects.filter(kind=ProductKind.PHYSICAL):
        assert sum(StockMovement.objects.filter(product=product).values_list("delta", flat=True)) == product.stock

    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    assert Code.objects.filter(used_at__isnull=False, order__isnull=False).count() == 1
    shipped = Order.objects.get(status=OrderStatus.SHIPPED)
    assert (shipped.carrier, shipped.tracking_number) == ("顺丰速运 SF Express", f"SF{1400000000 + shipped.pk}")
    assert points_services.points_verify().ok
    assert PaymentPin.objects.filter(user__email__in=DEMO_MEMBERS).count() == 3

    staff = User.objects.get(email=SHOP_STAFF_EMAIL)
    assert staff.has_perm("catalog.verify_coupon")
    assert list(staff.groups.all()) == [Group.objects.get(name="Shop staff")]
    printed = out.getvalue()
    assert f"Demo payment PIN: {DEMO_PIN}" in printed
    assert "A coupon to verify at /mall/staff/coupons/: CP-" in printed


def test_pictures_are_distinct_per_product():
    first = Image.open(io.BytesIO(product_picture("Yoga mat", 0.36, "ball"))).convert("RGB")
    second = Image.open(io.BytesIO(product_picture("Jump rope", 0.36, "ball"))).convert("RGB")
    assert first.size == second.size == (640, 640)
    assert first.tobytes() != second.tobytes()
