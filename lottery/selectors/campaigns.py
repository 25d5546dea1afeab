"""Campaign lists and pages: the published terms, the odds table and the member's own counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from lottery import rules
from lottery.exceptions import CampaignNotFoundError
from lottery.models import DrawerState, LotteryCampaign, LotteryPrize, PrizeKind
from points import selectors as points_selectors
from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.language import pick_language

FINISHED_SHOWN_DAYS = 30  # finished campaigns stay listed (results, winners, verification) this long


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
    # What the odds table shows as left: min(remaining, what the catalog can deliver now) for an
    # item or code prize (None: unlimited); ``unavailable`` when that is 0 while units remain.
    left: int | None = None
    unavailable: bool = False


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
    needs_address: bool = False  # a physical prize: the draw ships to the member's (default) address
    extra: dict = field(default_factory=dict)


def _status(campaign: LotteryCampaign, now: datetime) -> str:
    if now < campaign.starts_at:
        return "upcoming"
    if now < campaign.ends_at:
        return "running"
    return "ended"


def _text(zh: str, en: str) -> str:
    return str(pick_language(zh=zh, en=en, fallback=True) or "")


def _image(field_file) -> str:
    return field_file.url if field_file else ""


def campaigns_live(*, now: datetime | None = None) -> list[CampaignCard]:
    """Published campaigns that are running or upcoming, and those finished in the last 30 days:
    running first (ending soonest first), then upcoming (starting soonest), then finished (latest first)."""
    now = now or timezone.now()
    campaigns = LotteryCampaign.objects.filter(
        Q(ends_at__gt=now - timedelta(days=FINISHED_SHOWN_DAYS)), published_at__isnull=False
    )
    cards = [
        CampaignCard(
            id=c.pk,
            name=_text(c.name, c.name_en),
            image_url=_image(c.image),
            style=c.style,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            cost_points=c.cost_points,
            status=_status(c, now),
        )
        for c in campaigns
    ]
    order = {"running": 0, "upcoming": 1, "ended": 2}

    def key(card: CampaignCard):
        if card.status == "running":
            return (0, card.ends_at.timestamp())
        if card.status == "upcoming":
            return (1, card.starts_at.timestamp())
        return (order[card.status], -card.ends_at.timestamp())

    return sorted(cards, key=key)


def _left(prize: LotteryPrize) -> tuple[int | None, bool]:
    from lottery.services.campaigns import catalog_capacity

    capacity = catalog_capacity(prize)
    if capacity is None:
        return prize.remaining, False
    left = capacity if prize.remaining is None else min(prize.remaining, capacity)
    return left, left == 0 and (prize.remaining is None or prize.remaining > 0)


def prize_rows(prizes: list[LotteryPrize]) -> list[PrizeRow]:
    return [
        PrizeRow(
            id=p.pk,
            name=_text(p.name, p.name_en),
            kind=p.kind,
            probability=rules.probability_text(p.weight_bp),
            weight_bp=p.weight_bp,
            quantity=p.quantity,
            remaining=p.remaining,
            daily_cap=p.daily_cap,
            market_value=p.market_value,
            image_url=_image(p.image),
            points=p.points,
            left=left,
            unavailable=unavailable,
        )
        for p in prizes
        for left, unavailable in [_left(p)]
    ]


def _member_part(campaign: LotteryCampaign, user_id: int, now: datetime) -> MemberPart:
    from lottery.services import draws as draw_rules  # the same checks the draw makes

    state = DrawerState.objects.filter(campaign=campaign, member_id=user_id).first()
    drawn = state.draws if state else 0
    today = draw_rules.draws_today(campaign.pk, user_id, now)
    free_left = (  # a free campaign uses no tier free draws
        draw_rules.free_draws_left(user_id=user_id, now=now) if campaign.tier_free_draws and campaign.cost_points else 0
    )
    cost, _free = draw_rules.next_cost(campaign, user_id, now)
    reason = ""
    try:
        draw_rules.check_running(campaign, now)
        draw_rules.check_eligible(campaign, user_id, now)
        draw_rules.check_limits(campaign, user_id, drawn, now)
    except DomainError as error:
        reason = error.message
    balance = points_selectors.spendable_balance(user_id=user_id) or 0
    if not reason and cost > balance:
        reason = str(_not_enough(cost, balance))
    return MemberPart(
        draws_today=today,
        left_today=max(campaign.daily_limit - today, 0) if campaign.daily_limit is not None else None,
        left_in_campaign=max(campaign.campaign_limit - drawn, 0) if campaign.campaign_limit is not None else None,
        free_left=free_left,
        since_win=state.since_win if state else 0,
        balance=balance,
        eligible=not reason,
        reason=reason,
        cost_points=cost,
    )


def _not_enough(cost: int, balance: int) -> str:
    from points.exceptions import InsufficientPointsError

    return InsufficientPointsError(available=balance, required=cost).message


def _needs_address(prizes: list[LotteryPrize]) -> bool:
    from lottery.services import draws as draw_rules

    return draw_rules.needs_address(prizes)


def campaign_page(*, campaign_id: int, user_id: int | None = None, now: datetime | None = None) -> CampaignPage:
    """A published campaign as its page shows it: terms, odds table (prizes in their published
    order), the seed hash (and the seed once revealed), and with ``user_id`` the member's counters
    and whether they can draw now (``member.eligible``/``reason``). Raises CampaignNotFoundError."""
    now = now or timezone.now()
    campaign = LotteryCampaign.objects.filter(pk=campaign_id, published_at__isnull=False).first()
    if campaign is None:
        raise CampaignNotFoundError()
    prizes = list(campaign.prizes.order_by("position", "pk"))
    specs = [rules.PrizeSpec(id=p.pk, weight_bp=p.weight_bp, wins=p.kind != PrizeKind.NONE) for p in prizes]
    revealed = campaign.revealed_at is not None
    return CampaignPage(
        id=campaign.pk,
        name=_text(campaign.name, campaign.name_en),
        description=_text(campaign.description, campaign.description_en),
        image_url=_image(campaign.image),
        style=campaign.style,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        status=_status(campaign, now),
        cost_points=campaign.cost_points,
        seed_hash=campaign.seed_hash,
        seed=campaign.seed if revealed else "",
        revealed=revealed,
        prizes=prize_rows(prizes),
        pity_after=campaign.pity_after,
        daily_limit=campaign.daily_limit,
        campaign_limit=campaign.campaign_limit,
        tier_free_draws=campaign.tier_free_draws,
        win_rate=rules.probability_text(rules.win_rate_bp(specs)),
        member=_member_part(campaign, user_id, now) if user_id is not None else None,
        consolation_prize_id=campaign.consolation_prize_id,
        needs_address=_needs_address(prizes),
    )
