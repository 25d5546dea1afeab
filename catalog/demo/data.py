"""The demo catalog's data, read from the TOML files in ``catalog/demo_data/``.

The files hold what the demo shows (categories, products with their texts in both
languages, prices, stock, orders, addresses); this module turns them into frozen records
and checks them on the way: a product kind, an order status or a product field that does
not exist fails here, at import, not half-way through a seed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from catalog.enums import OrderStatus, ProductKind
from catalog.models import Product

DATA_DIR = Path(__file__).resolve().parent.parent / "demo_data"
# Keys of a product in products.toml that are not Product fields (see the file's header).
NOT_FIELDS = frozenset({"flash", "sale"})


class DemoCategory(NamedTuple):
    slug: str
    name_zh: str
    name_en: str
    hue: float  # 0-1, the base hue of the category's pictures
    icon: str  # drawn on the pictures: catalog.demo.pictures
    tile_icon: str  # the category's icon on the mall's tiles (catalog.enums.CategoryIcon)


@dataclass(frozen=True)
class Item:
    category: str
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    kind: str
    market_price: str
    points: int
    stock: int
    cash: str = "0"
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DemoOrder:
    key: str
    email: str
    product: str
    quantity: int
    target: str
    used_in_store: bool = False


def _read(name: str) -> dict[str, Any]:
    with (DATA_DIR / name).open("rb") as file:
        return tomllib.load(file)


def _item(row: dict[str, Any]) -> Item:
    """A product row: the Item's own keys; the rest are Product fields (typed by the field) or flash/sale."""
    own = {name: row.pop(name) for name in list(row) if name in Item.__dataclass_fields__}
    extra = {
        name: value if name in NOT_FIELDS else Product._meta.get_field(name).to_python(value)
        for name, value in row.items()
    }
    return Item(**(own | {"kind": ProductKind(own["kind"])}), extra=extra)


CATEGORIES = [DemoCategory(**row) for row in _read("categories.toml")["category"]]
ITEMS = [_item(row) for row in _read("products.toml")["product"]]
ORDERS = [DemoOrder(**(row | {"target": OrderStatus(row["target"])})) for row in _read("orders.toml")["order"]]
_MEMBERS = _read("members.toml")
DEMO_PIN: str = _MEMBERS["payment_pin"]
SHOP_STAFF: dict[str, str] = _MEMBERS["shop_staff"]
SHOP_STAFF_EMAIL: str = SHOP_STAFF["email"]
# e-mail -> the keyword arguments of accounts.services.address_create
ADDRESSES: dict[str, dict[str, str]] = _MEMBERS["address"]
