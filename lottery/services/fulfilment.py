"""Prize fulfilment that lives outside the lottery: a catalog item or code becomes an order.

The lottery may not import the catalog (import contracts), so the project package registers
the catalog's functions here at start-up (pointsmall/wiring.py):

- ``place(*, member_id, product_id, reference, address_id=None) -> int`` (the order id),
  idempotent by ``reference`` (``lottery.draw:<id>``), called inside the draw's transaction;
  it raises a DomainError when the item cannot be delivered (no stock, no code left): the
  draw then falls through (docs/decisions/0027-lottery.md).
- ``needs_address(*, product_id) -> bool``: whether the item is shipped (physical).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fulfiller:
    place: Callable[..., int]
    needs_address: Callable[..., bool]


PRODUCT = "product"  # catalog items and code/coupon items alike (the catalog knows which)

_fulfillers: dict[str, Fulfiller] = {}


def fulfiller_register(kind: str, place: Callable[..., int], needs_address: Callable[..., bool] | None = None) -> None:
    """Register how prizes of ``kind`` ("product") are delivered. Registering again replaces it."""
    _fulfillers[kind] = Fulfiller(place=place, needs_address=needs_address or (lambda **_kwargs: False))


def fulfillers() -> dict[str, Fulfiller]:
    return dict(_fulfillers)


def fulfiller(kind: str) -> Fulfiller | None:
    return _fulfillers.get(kind)
