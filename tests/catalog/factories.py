"""Plain catalog rows for the member-page tests, and members made ready to redeem through the services.

Categories, products and images are plain catalog rows and are created directly. Points
only ever come from ``points.services.points_earn``, PINs from ``accounts.services.pin_set``,
addresses from ``accounts.services.address_create`` and orders from ``catalog.services``.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts import services as accounts_services
from catalog import services as catalog_services
from catalog.enums import PrivilegeEffect, ProductKind
from catalog.images import product_image_create
from catalog.models import Category, Code, Order, OrderEvent, Product, ProductImage, Review, StockMovement
from points import selectors as points_selectors
from points import services as points_services
from points.models import Entry
from tests.factories import MemberFactory, StaffFactory

PIN = "731946"
WRONG_PIN = "731947"
_sequence = itertools.count(1)


def make_category(**fields) -> Category:
    n = next(_sequence)
    values = {"name_zh": f"分类{n}", "name_en": f"Category {n}", "slug": f"category-{n}", "sort": n}
    values.update(fields)
    return Category.objects.create(**values)


def make_product(category: Category | None = None, **fields) -> Product:
    """An on-shelf physical item for 500 points, 20 in stock, unless told otherwise."""
    n = next(_sequence)
    values = {
        "name_zh": f"商品{n}",
        "name_en": f"Item {n}",
        "description_zh": "中文介绍",
        "description_en": "An English description.",
        "category": category or make_category(),
        "kind": ProductKind.PHYSICAL,
        "points_price": 500,
        "stock": 20,
        "per_order_limit": 5,
        "low_stock_threshold": 3,
    }
    values.update(fields)
    if values["kind"] == ProductKind.PRIVILEGE and "effect" not in fields:
        # A privilege on sale must do something (docs/decisions/0020): a 7-day Silver trial.
        values.update(effect=PrivilegeEffect.TIER_TRIAL, effect_tier="silver", effect_days=7)
    return Product.objects.create(**values)


def png_bytes(size: tuple[int, int] = (120, 90), color: tuple[int, int, int] = (230, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def image_upload(data: bytes | None = None, name: str = "picture.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data if data is not None else png_bytes(), content_type=content_type)


def add_image(product: Product, sort: int = 0) -> ProductImage:
    """A real, re-encoded picture with its thumbnails (MEDIA_ROOT should point at a temporary folder)."""
    return product_image_create(product_id=product.pk, upload=image_upload(), sort=sort)


def give_points(user, amount: int) -> None:
    points_services.points_earn(
        user_id=user.pk, amount=amount, idempotency_key=f"test-earn:{user.pk}:{next(_sequence)}"
    )


def make_member(*, points: int = 0, pin: bool = True):
    member = MemberFactory()
    if pin:
        accounts_services.pin_set(user_id=member.pk, pin=PIN)
    if points:
        give_points(member, points)
    return member


def make_gold_member(*, points: int = 0):
    """A member on the Gold tier (85% prices): 5,000 earned points qualify, then the monthly recalculation."""
    member = make_member(points=5000)
    points_services.points_tiers_recalculate()
    assert points_selectors.member_tier(user_id=member.pk).code == "gold"
    if points:
        give_points(member, points)
    return member


def add_address(user, **fields) -> int:
    values = {
        "recipient": "王小明",
        "phone": "13800138000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 100 号",
        "postal_code": "310000",
    }
    values.update(fields)
    return accounts_services.address_create(user_id=user.pk, **values).id


def add_codes(product: Product, count: int) -> list[str]:
    codes = [f"CODE-{product.pk}-{i:03d}" for i in range(count)]
    operator = StaffFactory()
    catalog_services.codes_import(product_id=product.pk, text="\n".join(codes), actor_id=operator.pk)
    return codes


def redeem(member, product: Product, *, quantity: int = 1, address_id: int | None = None) -> Order:
    """A real redemption through the service; a physical item gets an address if none is given."""
    if product.kind == ProductKind.PHYSICAL and address_id is None:
        address_id = add_address(member)
    return catalog_services.order_redeem(
        user_id=member.pk,
        product_id=product.pk,
        quantity=quantity,
        idempotency_key=f"test-order:{member.pk}:{next(_sequence)}",
        pin=PIN,
        address_id=address_id,
    )


def delivered_order(member, product: Product | None = None) -> Order:
    """A physical order redeemed, shipped and delivered by an operator: ready for a review."""
    order = redeem(member, product or make_product())
    operator = StaffFactory()
    catalog_services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF Express", tracking_number="SF123")
    return catalog_services.order_deliver(order_id=order.pk, actor_id=operator.pk)


def shipped_order(member, product: Product | None = None) -> Order:
    order = redeem(member, product or make_product())
    operator = StaffFactory()
    return catalog_services.order_ship(
        order_id=order.pk, actor_id=operator.pk, carrier="SF Express", tracking_number="SF123"
    )


@dataclass(frozen=True)
class Written:
    """What the member pages could write: compared before and after a refusal."""

    orders: int
    events: int
    movements: int
    entries: int
    reviews: int
    stock: dict
    balances: dict
    codes_given: int


def written() -> Written:
    return Written(
        orders=Order.objects.count(),
        events=OrderEvent.objects.count(),
        movements=StockMovement.objects.count(),
        entries=Entry.objects.count(),
        reviews=Review.objects.count(),
        stock=dict(Product.objects.values_list("pk", "stock")),
        balances={user_id: points_selectors.spendable_balance(user_id=user_id) for user_id in _member_ids()},
        codes_given=Code.objects.filter(order__isnull=False).count(),
    )


def _member_ids() -> list[int]:
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.values_list("pk", flat=True))
