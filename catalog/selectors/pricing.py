"""What a member pays: the tier discount applied to prices, and the tier names shown on cards."""

from __future__ import annotations

from dataclasses import dataclass

from points import selectors as points_selectors

# --- The member's prices -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberPricing:
    """What prices a visitor sees: their tier's percentage and, when signed in, their balance."""

    user_id: int | None = None
    price_percent: int = 100
    tier_rank: int = 0
    tier_name: str = ""
    balance: int | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def discounted(self) -> bool:
        return self.price_percent < 100

    @property
    def discount_percent(self) -> int:
        return 100 - self.price_percent


def member_pricing(*, user_id: int | None) -> MemberPricing:
    """The member's tier discount and balance (two queries); list prices for anonymous visitors."""
    if user_id is None:
        return MemberPricing()
    tier = points_selectors.member_tier(user_id=user_id)
    return MemberPricing(
        user_id=user_id,
        price_percent=tier.price_percent if tier else 100,
        tier_rank=tier.rank if tier else 0,
        tier_name=tier.name if tier else "",
        balance=points_selectors.spendable_balance(user_id=user_id) or 0,
    )


def pricing_from_status(*, user_id: int, status: points_selectors.MemberStatus | None) -> MemberPricing:
    """``member_pricing`` from a ``points.selectors.member_status`` already read (no query)."""
    tier = status.tier if status else None
    return MemberPricing(
        user_id=user_id,
        price_percent=tier.price_percent if tier else 100,
        tier_rank=tier.rank if tier else 0,
        tier_name=tier.name if tier else "",
        balance=status.balance if status else 0,
    )


def tier_names() -> dict[int, str]:
    """Tier name by rank, for "Gold+" badges and tier requirements (one query)."""
    return {tier.rank: tier.name for tier in points_selectors.tier_ladder()}
