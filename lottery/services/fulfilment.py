"""Prize fulfilment that lives outside the lottery: a catalog item or code becomes an order.

The lottery may not import the catalog (import contracts), so the project package registers
the catalog's functions here at start-up (pointsmall/wiring.py):

- ``place(*, member_id, product_id, reference, address_id=None) -> int`` (the order id),
  idempotent by ``reference`` (``lottery.draw:<id>``), called inside the draw's transaction;
  it raises a DomainError when the item cannot be delivered (no stock, no code left): the
  draw then falls through (docs/decisions/0027-lottery.md).
- ``needs_address(*, product_id) -> bool``: whether the item is shipped (physical).
- ``capacity(*, product_id) -> int``: how many the catalog could deliver now (its stock; for a
  code item its free codes too; 0 off sale). A read: nothing is reserved (0027, known limit).
- ``market_value(*, product_id) -> Decimal``: the item's market price, yuan (the top-prize cap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Fulfiller:
    place: Callable[..., int]
    needs_address: Callable[..., bool]
    capacity: Callable[..., int]
    market_value: Callable[..., Decimal]


PRODUCT = "product"  # catalog items and code/coupon items alike (the catalog knows which)

_fulfillers: dict[str, Fulfiller] = {}


def fulfiller_register(
    kind: str,
    place: Callable[..., int],
    needs_address: Callable[..., bool] | None = None,
    *,
    capacity: Callable[..., int],
    market_value: Callable[..., Decimal],
) -> None:
    """Register how prizes of ``kind`` ("product") are delivered, how many the owner could deliver
    now and what one is worth. Registering again replaces it."""
    _fulfillers[kind] = Fulfiller(
        place=place,
        needs_address=needs_address or (lambda **_kwargs: False),
        capacity=capacity,
        market_value=market_value,
    )


def fulfillers() -> dict[str, Fulfiller]:
    return dict(_fulfillers)


def fulfiller(kind: str) -> Fulfiller | None:
    return _fulfillers.get(kind)
