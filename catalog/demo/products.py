"""Demo products: one row per item of products.toml, with a picture, stock or codes and a sale price."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile

from catalog import services
from catalog.demo.data import Item
from catalog.demo.pictures import product_picture
from catalog.enums import ProductKind
from catalog.images import product_image_create
from catalog.models import Category, Product, SalePrice, StockMovement

# The demo gallery's pictures, in order: what each one shows (its alt text after the name).
PICTURE_VIEWS = (("正面", "front"), ("细节", "close-up"), ("侧面", "side"), ("包装", "in its box"))


def _codes(product: Product, count: int) -> str:
    """Stable codes, so importing them again on a second run adds nothing."""
    prefix = "CP" if product.kind == ProductKind.COUPON else "VC"
    lines = []
    for n in range(count):
        digest = hashlib.sha256(f"{product.name_en}:{n}".encode()).hexdigest().upper()
        lines.append(f"{prefix}-{digest[:4]}-{digest[4:8]}-{digest[8:12]}")
    return "\n".join(lines)


def _product_fields(item: Item, category: Category, now: datetime) -> dict:
    extra = dict(item.extra)
    flash = extra.pop("flash", None)
    extra.pop("sale", None)  # a SalePrice row, not a product field
    fields = {
        "name_zh": item.name_zh,
        "description_en": item.description_en,
        "description_zh": item.description_zh,
        "category": category,
        "kind": item.kind,
        "market_price": Decimal(item.market_price),
        "points_price": item.points,
        "cash_price": Decimal(item.cash),
        "low_stock_threshold": 3 if item.kind in (ProductKind.VIRTUAL, ProductKind.COUPON) else 5,
        "supplier": "Demo Supplies Co." if item.kind == ProductKind.PHYSICAL else "",
        **extra,
    }
    if flash == "now":
        fields.update(flash_sale=True, sale_starts_at=now - timedelta(hours=1), sale_ends_at=now + timedelta(hours=3))
    elif flash == "soon":
        fields.update(flash_sale=True, sale_starts_at=now + timedelta(hours=1), sale_ends_at=now + timedelta(hours=7))
    return fields


def seed_product(item: Item, category: Category, hue: float, icon: str, admin_id: int | None, now: datetime) -> bool:
    """Create ``item`` (found by English name and category) unless it exists; True when created.

    Pictures, codes, the first delivery and the sale price are added only where missing,
    through the catalog's services, so a second run changes nothing.
    """
    product, created = Product.objects.get_or_create(
        name_en=item.name_en, category=category, defaults=_product_fields(item, category, now)
    )
    if not product.images.exists():
        # 2 to 4 pictures, the same number for the same name, each saying what it shows.
        count = 2 + hashlib.sha256(item.name_en.encode()).digest()[0] % 3
        for view, (zh, en) in enumerate(PICTURE_VIEWS[:count]):
            picture = ContentFile(product_picture(item.name_en, hue, icon, view), name="demo.png")
            product_image_create(
                product_id=product.pk,
                upload=picture,
                sort=view,
                alt_zh=f"{item.name_zh}：{zh}",
                alt_en=f"{item.name_en}: {en}",
            )
    if product.needs_code:
        services.codes_import(product_id=product.pk, text=_codes(product, item.stock), actor_id=admin_id)
    elif item.stock and not StockMovement.objects.filter(product=product).exists():
        services.stock_adjust(
            product_id=product.pk, delta=item.stock, actor_id=admin_id, reason="Demo: first delivery", restock=True
        )
    sale = item.extra.get("sale")
    if sale:
        starts, ends = (
            (product.sale_starts_at, product.sale_ends_at)
            if product.flash_sale
            else (now - timedelta(days=1), now + timedelta(days=6))
        )
        SalePrice.objects.get_or_create(
            product=product, points_price=sale, defaults={"starts_at": starts, "ends_at": ends}
        )
    return created
