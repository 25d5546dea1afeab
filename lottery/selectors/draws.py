"""A member's draws and the public winners list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts import selectors as accounts_selectors
from lottery.models import Draw, DrawOutcome
from pointsmall.kernel.language import pick_language
from pointsmall.kernel.masking import mask_name


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


def _text(zh: str, en: str) -> str:
    return str(pick_language(zh=zh, en=en, fallback=True) or "")


def my_draws(*, user_id: int, campaign_id: int | None = None, limit: int = 50) -> list[DrawRow]:
    """The member's draws, newest first (of one campaign with ``campaign_id``)."""
    draws = Draw.objects.filter(member_id=user_id).select_related("campaign", "prize").order_by("-pk")
    if campaign_id is not None:
        draws = draws.filter(campaign_id=campaign_id)
    return [
        DrawRow(
            id=d.pk,
            campaign_id=d.campaign_id,
            campaign_name=_text(d.campaign.name, d.campaign.name_en),
            created_at=d.created_at,
            outcome=d.outcome,
            outcome_label=str(DrawOutcome(d.outcome).label) if d.outcome in DrawOutcome.values else "",
            prize_name=_text(d.prize.name, d.prize.name_en) if d.prize else "",
            prize_kind=d.prize.kind if d.prize else "",
            number=d.number,
            pity=d.pity,
            free=d.free,
            cost_points=d.cost_points,
            client_seed=d.client_seed,
            nonce=d.nonce,
            reward_reference=d.reward_reference,
        )
        for d in draws[:limit]
    ]


def winners(*, campaign_id: int, limit: int = 50) -> list[WinnerRow]:
    """The campaign's latest winning draws with masked names (public), newest first. Two queries."""
    draws = list(
        Draw.objects.filter(campaign_id=campaign_id, prize__isnull=False)
        .select_related("prize")
        .order_by("-pk")[:limit]
    )
    names = accounts_selectors.display_names(user_ids={d.member_id for d in draws})
    return [
        WinnerRow(
            draw_id=d.pk,
            masked_name=mask_name(names.get(d.member_id, "")),
            prize_name=_text(d.prize.name, d.prize.name_en),
            created_at=d.created_at,
        )
        for d in draws
    ]
