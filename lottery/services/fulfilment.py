"""Prize fulfilment that lives outside the lottery: a catalog item or code becomes an order.

The lottery may not import the catalog (import contracts), so the project package registers
the catalog's ``prize_order_place`` here at start-up (pointsmall/wiring.py). A fulfiller is
``fn(*, member_id, product_id, reference, address_id=None) -> int`` (the order id), idempotent
by ``reference`` (``lottery.draw:<id>``), called inside the draw's transaction.
"""

from __future__ import annotations

from collections.abc import Callable

Fulfiller = Callable[..., int]

_fulfillers: dict[str, Fulfiller] = {}

PRODUCT = "product"  # one fulfiller for catalog items and code/coupon items (the catalog knows which)


def fulfiller_register(kind: str, function: Fulfiller) -> None:
    """Register ``function`` to deliver prizes of ``kind`` ("product"). Registering again replaces it."""
    _fulfillers[kind] = function


def fulfillers() -> dict[str, Fulfiller]:
    return dict(_fulfillers)


def fulfiller(kind: str) -> Fulfiller | None:
    return _fulfillers.get(kind)
