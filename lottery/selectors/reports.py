"""The operator's report of one campaign: draws, drawers, points collected, prizes awarded vs
quantity, configured vs realised odds with a χ² goodness-of-fit p-value, cost of prizes vs
points collected; and the rows of its CSV exports (streamed, bounded memory).

Realised odds are measured on what the number picked (``Draw.picked``) in ordinary draws: pity
draws are excluded (their pick is by design not the published odds), and a picked prize that was
gone (fell through) still counts for the prize picked, so the test measures the draw function
itself. "Awarded" counts what members got (``Draw.prize``), consolation and pity included.

Prize cost (yuan) = value × awarded, with the values the publication's top-prize cap uses
(``lottery.services.campaigns.prize_value``): a points prize at the ledger's point value
(``points.selectors.point_value_yuan``) per point, an item or code prize at the larger of its
market value and the catalog item's market price. Points prizes are also reported in points (``points_paid``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from lottery.models import BASIS_POINTS, Draw, LotteryCampaign, LotteryPolicy, LotteryPrize, PrizeKind
from lottery.rules import chi_square_p_value
from lottery.services.campaigns import catalog_value, prize_value
from points import selectors as points_selectors
from pointsmall.kernel import clock
from pointsmall.kernel.language import pick_language


@dataclass(frozen=True)
class PrizeFigures:
    prize_id: int
    position: int
    name: str
    kind: str
    weight_bp: int
    quantity: int | None
    remaining: int | None
    awarded: int
    picked: int  # ordinary (non-pity) draws whose number picked this prize
    configured_rate: Decimal  # percent, 2 places
    realised_rate: Decimal | None  # percent of ordinary draws, 2 places; None without draws
    market_value: Decimal  # yuan: the value of one (services.campaigns.prize_value)
    cost: Decimal  # yuan: value × awarded (0 for "no prize")
    points_paid: int  # points × awarded for a points prize


@dataclass(frozen=True)
class CampaignReport:
    campaign_id: int
    name: str
    draws: int
    drawers: int
    paid_draws: int
    free_draws: int
    pity_draws: int
    fell_through: int
    points_collected: int
    points_paid: int  # points prizes credited
    prize_cost: Decimal  # yuan, every prize awarded (points at the policy's point value)
    prizes: tuple[PrizeFigures, ...]
    chi_square_p: float | None  # None when fewer than two outcomes or no ordinary draw


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"))


def campaign_report(*, campaign_id: int) -> CampaignReport:
    """The figures of one campaign (raises LotteryCampaign.DoesNotExist for an unknown id). Four queries."""
    campaign = LotteryCampaign.objects.get(pk=campaign_id)
    draws = Draw.objects.filter(campaign_id=campaign_id)
    totals = draws.aggregate(
        draws=Count("pk"),
        drawers=Count("member_id", distinct=True),
        paid=Count("pk", filter=Q(cost_points__gt=0)),
        free=Count("pk", filter=Q(free=True)),
        pity=Count("pk", filter=Q(pity=True)),
        fell=Count("pk", filter=Q(outcome="fell_through")),
        points=Sum("cost_points"),
    )
    awarded = dict(
        draws.filter(prize__isnull=False).values_list("prize_id").annotate(n=Count("pk")).values_list("prize_id", "n")
    )
    picked = dict(
        draws.filter(pity=False, picked__isnull=False)
        .values_list("picked_id")
        .annotate(n=Count("pk"))
        .values_list("picked_id", "n")
    )
    prizes = list(LotteryPrize.objects.filter(campaign_id=campaign_id).order_by("position", "pk"))
    ordinary = sum(picked.values())
    point_value = points_selectors.point_value_yuan()
    rows = []
    for prize in prizes:
        won = awarded.get(prize.pk, 0) if prize.kind != PrizeKind.NONE else 0
        is_points = prize.kind == PrizeKind.POINTS
        value = prize_value(prize, point_value_yuan=point_value, catalog=catalog_value(prize))
        rows.append(
            PrizeFigures(
                prize_id=prize.pk,
                position=prize.position,
                name=pick_language(zh=prize.name, en=prize.name_en, fallback=True),
                kind=prize.kind,
                weight_bp=prize.weight_bp,
                quantity=prize.quantity,
                remaining=prize.remaining,
                awarded=won,
                picked=picked.get(prize.pk, 0),
                configured_rate=_percent(prize.weight_bp, BASIS_POINTS),
                realised_rate=_percent(picked.get(prize.pk, 0), ordinary) if ordinary else None,
                market_value=value,
                cost=value * won,
                points_paid=(prize.points or 0) * won if is_points else 0,
            )
        )
    weighted = [r for r in rows if r.weight_bp > 0]
    p_value = None
    if ordinary and len(weighted) >= 2:
        p_value = chi_square_p_value(
            [r.picked for r in weighted], [ordinary * r.weight_bp / BASIS_POINTS for r in weighted]
        )
    return CampaignReport(
        campaign_id=campaign.pk,
        name=pick_language(zh=campaign.name, en=campaign.name_en, fallback=True),
        draws=totals["draws"],
        drawers=totals["drawers"],
        paid_draws=totals["paid"],
        free_draws=totals["free"],
        pity_draws=totals["pity"],
        fell_through=totals["fell"],
        points_collected=totals["points"] or 0,
        points_paid=sum(r.points_paid for r in rows),
        prize_cost=sum((r.cost for r in rows), Decimal("0.00")),
        prizes=tuple(rows),
        chi_square_p=p_value,
    )


DRAW_COLUMNS = (
    "draw",
    "drawn at",
    "member id",
    "client seed",
    "nonce",
    "number",
    "pity",
    "free",
    "points paid",
    "prize picked",
    "prize won",
    "outcome",
    "delivered as",
)


def draw_rows(*, campaign_id: int, chunk_size: int = 2000) -> Iterator[tuple]:
    """Every draw of the campaign, oldest first, as CSV-ready tuples (``DRAW_COLUMNS``): a
    server-side cursor in chunks, so memory stays bounded however many draws there are."""
    names = {
        pk: pick_language(zh=zh, en=en, fallback=True)
        for pk, zh, en in LotteryPrize.objects.filter(campaign_id=campaign_id).values_list("pk", "name", "name_en")
    }
    rows = (
        Draw.objects.filter(campaign_id=campaign_id)
        .order_by("pk")
        .values_list(
            "pk",
            "created_at",
            "member_id",
            "client_seed",
            "nonce",
            "number",
            "pity",
            "free",
            "cost_points",
            "picked_id",
            "prize_id",
            "outcome",
            "reward_reference",
        )
    )
    for pk, at, member, client_seed, nonce, number, pity, free, cost, picked, prize, outcome, ref in rows.iterator(
        chunk_size=chunk_size
    ):
        yield (
            pk,
            clock.business_time(at).strftime("%Y-%m-%d %H:%M:%S"),
            member,
            client_seed,
            nonce,
            "" if number is None else number,
            int(pity),
            int(free),
            cost,
            names.get(picked, ""),
            names.get(prize, ""),
            outcome,
            ref,
        )


@dataclass(frozen=True)
class PrizeOverCap:
    """A prize of a live campaign worth more than the top-prize cap at a given point value."""

    campaign_id: int
    campaign: str
    prize: str
    value: Decimal  # yuan, as the publication's check values it
    cap: Decimal  # yuan: the policy's top-prize cap


def prizes_over_cap(*, point_value_yuan: Decimal, now: datetime | None = None) -> list[PrizeOverCap]:
    """The prizes of live campaigns (published, not ended: running or upcoming) worth more than the
    policy's top-prize cap if a point were worth ``point_value_yuan`` yuan, valued as the
    publication's check values them (``prize_value``); by campaign start, then prize position.
    Published prizes are frozen: this is what a change of the point value would put over the cap."""
    now = now or timezone.now()
    cap = LotteryPolicy.load().top_prize_cap
    prizes = (
        LotteryPrize.objects.filter(campaign__published_at__isnull=False, campaign__ends_at__gt=now)
        .exclude(kind=PrizeKind.NONE)
        .select_related("campaign")
        .order_by("campaign__starts_at", "campaign_id", "position", "pk")
    )
    over = []
    for prize in prizes:
        value = prize_value(prize, point_value_yuan=point_value_yuan, catalog=catalog_value(prize))
        if value > cap:
            over.append(
                PrizeOverCap(
                    campaign_id=prize.campaign_id,
                    campaign=pick_language(zh=prize.campaign.name, en=prize.campaign.name_en, fallback=True),
                    prize=pick_language(zh=prize.name, en=prize.name_en, fallback=True) or f"#{prize.pk}",
                    value=value,
                    cap=cap,
                )
            )
    return over


def over_cap_warnings(*, point_value_yuan: Decimal, now: datetime | None = None) -> list[str]:
    """One warning for the operator (translated) per row of ``prizes_over_cap``: after a change of
    the point value or of the top-prize cap, the live campaigns it puts over the cap."""
    return [
        gettext(
            "Live prize draw “%(campaign)s”: the prize “%(prize)s” is now worth ¥%(value)s, more than the "
            "¥%(cap)s allowed for a prize. Set the value back, or review the campaign."
        )
        % {"campaign": row.campaign, "prize": row.prize, "value": row.value, "cap": row.cap}
        for row in prizes_over_cap(point_value_yuan=point_value_yuan, now=now)
    ]
