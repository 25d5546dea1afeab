"""A member's draws and the public winners list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DrawRow:
    id: int
    campaign_id: int
    campaign_name: str
    created_at: datetime
    outcome: str
    outcome_label: str
    prize_name: str
    prize_kind: str
    number: int | None
    pity: bool
    free: bool
    cost_points: int
    client_seed: str
    nonce: int
    reward_reference: str


@dataclass(frozen=True)
class WinnerRow:
    draw_id: int
    masked_name: str
    prize_name: str
    created_at: datetime


def my_draws(*, user_id: int, campaign_id: int | None = None, limit: int = 50) -> list[DrawRow]:
    raise NotImplementedError


def winners(*, campaign_id: int, limit: int = 50) -> list[WinnerRow]:
    raise NotImplementedError
