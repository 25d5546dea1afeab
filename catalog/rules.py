"""Pure pricing, limit and "redeemable" rules of the catalog: no ORM, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Photos one review may carry (issue #17; the form, the service and the tile picker all read it).
REVIEW_PHOTOS_MAX = 6


@dataclass(frozen=True)
class Price:
    list_points: int  # the catalogue price (or the running sale price)
    unit_points: int  # what this member pays for one, after the tier discount
    regular_points: int  # the normal price, shown struck through during a sale

    @property
    def saved_per_unit(self) -> int:
        return self.list_points - self.unit_points

    @property
    def on_sale(self) -> bool:
        return self.list_points < self.regular_points


def tier_price(points: int, price_percent: int) -> int:
    """The member's price: ``price_percent`` of ``points``, rounded down, never below 1."""
    return max(points * price_percent // 100, 1)


def price_for(*, regular: int, sale: int | None, price_percent: int) -> Price:
    listed = min(regular, sale) if sale else regular
    return Price(list_points=listed, unit_points=tier_price(listed, price_percent), regular_points=regular)


def in_window(now: datetime, starts: datetime | None, ends: datetime | None) -> bool:
    """Inclusive start, exclusive end; an open side is unbounded."""
    return (starts is None or now >= starts) and (ends is None or now < ends)


# Redeemable: members may redeem a product at all only while it is on the shelf and its category
# is shown. The same rule in its two forms: lookups for the selectors' filters
# (``.filter(**REDEEMABLE)``, ``Q(**REDEEMABLE)``) and ``redeemable`` for a loaded product (the
# redemption service). The sale window is checked apart: it has refusals of its own.
REDEEMABLE: dict[str, bool] = {"on_shelf": True, "category__active": True}


def redeemable(*, on_shelf: bool, category_active: bool) -> bool:
    """``REDEEMABLE`` for one product: on the shelf, in an active category."""
    return on_shelf and category_active


def order_reference(order_id: int) -> str:
    """The ledger reference of everything an order books (its spend, refund, effect, review points):
    "catalog.order:<id>". Idempotency keys add the step: ``f"{order_reference(pk)}:spend"``."""
    return f"catalog.order:{order_id}"


@dataclass(frozen=True)
class RedemptionQuota:
    """What is left of a member's limits on one product (每人限兑 / 每日限兑), in items.

    ``None`` limits are no limit. ``used_*`` count the items of the member's live orders
    (``order_states.LIVE``): today's (the business day) and all of them.
    """

    per_day_limit: int | None
    lifetime_limit: int | None
    used_today: int = 0
    used_total: int = 0

    @property
    def left_today(self) -> int | None:
        return None if self.per_day_limit is None else max(self.per_day_limit - self.used_today, 0)

    @property
    def left_total(self) -> int | None:
        return None if self.lifetime_limit is None else max(self.lifetime_limit - self.used_total, 0)

    @property
    def left(self) -> int | None:
        """Items the member may still redeem now (today), or None when nothing limits them."""
        lefts = [n for n in (self.left_today, self.left_total) if n is not None]
        return min(lefts) if lefts else None

    @property
    def binding(self) -> str:
        """Which limit ``left`` comes from: "total" (it never comes back), "day" (tomorrow it does), or ""."""
        if self.left_total is not None and self.left == self.left_total:
            return "total"
        return "day" if self.left_today is not None else ""

    @property
    def exhausted(self) -> bool:
        return self.left == 0
