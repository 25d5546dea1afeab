"""Provable fairness: recompute every draw of a revealed campaign (commit–reveal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lottery import rules
from lottery.exceptions import CampaignNotFoundError
from lottery.models import Draw, LotteryCampaign, PrizeKind


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


def recompute(*, seed: str, draw_id: int, client_seed: str, nonce: int, pity: bool, specs) -> tuple[int, int | None]:
    """The number and the prize picked a draw recomputes to (a pity draw: the stored pity flag says the
    number was mapped onto the winning prizes; which were in stock is not recomputable, so a pity
    draw's prize is checked to be among the winning prizes its number can reach)."""
    number = rules.draw_number(seed=seed, draw_id=draw_id, client_seed=client_seed, nonce=nonce)
    picked = rules.pick(number, specs)
    return number, picked.id if picked else None


def draw_proof(*, campaign_id: int) -> CampaignProof:
    """Every draw of a published campaign with its inputs and, once the seed is revealed, the number
    and prize recomputed from them (``ok`` when they match what was stored; a pity draw's prize must be
    a winning prize). Before the reveal only the inputs and the seed hash are shown (``ok`` False).
    Raises CampaignNotFoundError."""
    campaign = LotteryCampaign.objects.filter(pk=campaign_id, published_at__isnull=False).first()
    if campaign is None:
        raise CampaignNotFoundError()
    revealed = campaign.revealed_at is not None
    seed = campaign.seed if revealed else ""
    seed_matches = revealed and rules.seed_hash(seed) == campaign.seed_hash
    prizes = list(campaign.prizes.order_by("position", "pk"))
    specs = [rules.PrizeSpec(id=p.pk, weight_bp=p.weight_bp, wins=p.kind != PrizeKind.NONE) for p in prizes]
    winning = {s.id for s in specs if s.wins}
    rows = []
    for draw in Draw.objects.filter(campaign=campaign).order_by("pk"):
        number = prize_id = None
        ok = False
        if seed_matches:
            number, prize_id = recompute(
                seed=seed, draw_id=draw.pk, client_seed=draw.client_seed, nonce=draw.nonce, pity=draw.pity, specs=specs
            )
            if draw.pity:
                ok = number == draw.number and draw.picked_id in winning
                prize_id = draw.picked_id if ok else prize_id
            else:
                ok = number == draw.number and prize_id == draw.picked_id
        rows.append(
            DrawProof(
                draw_id=draw.pk,
                created_at=draw.created_at,
                client_seed=draw.client_seed,
                nonce=draw.nonce,
                pity=draw.pity,
                number=draw.number,
                prize_id=draw.picked_id,
                recomputed_number=number,
                recomputed_prize_id=prize_id,
                ok=ok,
            )
        )
    return CampaignProof(
        campaign_id=campaign.pk,
        seed=seed,
        seed_hash=campaign.seed_hash,
        revealed=revealed,
        seed_matches=seed_matches,
        draws=rows,
        ok=seed_matches and all(row.ok for row in rows),
    )


def draw_verify(*, seed: str, draw_id: int, client_seed: str, nonce: int) -> int:
    """The number (0…9999) the formula gives for these inputs (lottery.rules.draw_number). Pure."""
    return rules.draw_number(seed=seed, draw_id=draw_id, client_seed=client_seed, nonce=nonce)
