"""Campaign lists and pages: the published terms, the odds table and the member's own counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class CampaignCard:
    id: int
    name: str
    image_url: str
    style: str
    starts_at: datetime
    ends_at: datetime
    cost_points: int
    status: str  # "upcoming" | "running" | "ended"


@dataclass(frozen=True)
class PrizeRow:
    id: int
    name: str
    kind: str
    probability: str  # "12.50%"
    weight_bp: int
    quantity: int | None
    remaining: int | None
    daily_cap: int | None
    market_value: Decimal
    image_url: str
    points: int | None = None


@dataclass(frozen=True)
class MemberPart:
    draws_today: int
    left_today: int | None  # None: no daily limit
    left_in_campaign: int | None  # None: no campaign limit
    free_left: int  # tier free draws left this business month
    since_win: int
    balance: int
    eligible: bool
    reason: str  # why not, when not eligible
    cost_points: int  # what the next draw costs this member (0 with a free draw)


@dataclass(frozen=True)
class CampaignPage:
    id: int
    name: str
    description: str
    image_url: str
    style: str
    starts_at: datetime
    ends_at: datetime
    status: str
    cost_points: int
    seed_hash: str
    seed: str  # "" until revealed
    revealed: bool
    prizes: list[PrizeRow]
    pity_after: int | None
    daily_limit: int | None
    campaign_limit: int | None
    tier_free_draws: bool
    win_rate: str  # "25.00%"
    member: MemberPart | None = None
    consolation_prize_id: int | None = None
    extra: dict = field(default_factory=dict)


def campaigns_live(*, now: datetime | None = None) -> list[CampaignCard]:
    raise NotImplementedError


def campaign_page(*, campaign_id: int, user_id: int | None = None, now: datetime | None = None) -> CampaignPage:
    raise NotImplementedError
