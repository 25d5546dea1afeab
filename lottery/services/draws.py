"""Drawing: one transaction from eligibility to the prize (docs/decisions/0027-lottery.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from points.confirmation import Totals


@dataclass(frozen=True)
class DrawResult:
    draw_id: int
    campaign_id: int
    outcome: str  # DrawOutcome
    prize_id: int | None
    prize_name: str  # the reader's language; "" for no prize
    prize_kind: str  # PrizeKind; "" for no prize
    points_won: int
    number: int  # 0…9999
    pity: bool
    free: bool
    cost_points: int
    replayed: bool
    reward_reference: str
    message: str


def lottery_draw_cost(*, user_id: int, campaign_id: int, now: datetime | None = None) -> Totals:
    """What the member's next draw costs now (0 points when a free draw is left)."""
    raise NotImplementedError


def lottery_draw_confirmation_sign(*, user_id: int, campaign_id: int) -> str:
    raise NotImplementedError


def lottery_draw_confirmation_read(*, token: str, user_id: int, campaign_id: int) -> Totals:
    raise NotImplementedError


def lottery_draw(
    *,
    user_id: int,
    campaign_id: int,
    idempotency_key: str,
    client_seed: str = "",
    confirmed: Totals | None = None,
    address_id: int | None = None,
    now: datetime | None = None,
) -> DrawResult:
    raise NotImplementedError
