"""Provable fairness: recompute every draw of a revealed campaign (commit–reveal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DrawProof:
    draw_id: int
    created_at: datetime
    client_seed: str
    nonce: int
    pity: bool
    number: int | None  # as stored
    prize_id: int | None  # the prize picked, as stored
    recomputed_number: int | None  # None until the seed is revealed
    recomputed_prize_id: int | None
    ok: bool


@dataclass(frozen=True)
class CampaignProof:
    campaign_id: int
    seed: str  # "" until revealed
    seed_hash: str
    revealed: bool
    seed_matches: bool  # sha256(seed) == seed_hash
    draws: list[DrawProof]
    ok: bool


def draw_proof(*, campaign_id: int) -> CampaignProof:
    raise NotImplementedError


def draw_verify(*, seed: str, draw_id: int, client_seed: str, nonce: int) -> int:
    """The number (0…9999) the formula gives for these inputs (lottery.rules.draw_number). Pure."""
    from lottery.rules import draw_number

    return draw_number(seed=seed, draw_id=draw_id, client_seed=client_seed, nonce=nonce)
