"""Creating and publishing lottery campaigns. Publication validates the disclosure and the
odds, then freezes the campaign's terms and prizes (docs/decisions/0027-lottery.md)."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lottery import rules
from lottery.exceptions import CampaignInvalidError, CampaignNotFoundError
from lottery.models import WIN_FLOOR_MIN_BP, LotteryCampaign, LotteryPolicy, LotteryPrize, PrizeKind
from lottery.services import fulfilment
from points import selectors as points_selectors

CENT = Decimal("0.01")


def catalog_capacity(prize: LotteryPrize) -> int | None:
    """How many of an item or code prize the catalog could deliver now (None: not a catalog
    prize, or no catalog registered). A read through the fulfiller registry."""
    if prize.kind not in (PrizeKind.PRODUCT, PrizeKind.CODE) or prize.product_id is None:
        return None
    delivery = fulfilment.fulfiller(fulfilment.PRODUCT)
    return delivery.capacity(product_id=prize.product_id) if delivery is not None else None


def catalog_value(prize: LotteryPrize) -> Decimal | None:
    """The catalog item's market price (yuan) of an item or code prize; None otherwise."""
    if prize.kind not in (PrizeKind.PRODUCT, PrizeKind.CODE) or prize.product_id is None:
        return None
    delivery = fulfilment.fulfiller(fulfilment.PRODUCT)
    return delivery.market_value(product_id=prize.product_id) if delivery is not None else None


def prize_value(prize: LotteryPrize, *, point_value_yuan: Decimal, catalog: Decimal | None = None) -> Decimal:
    """What one prize is worth, yuan, for the top-prize cap and the report: a points prize is its
    points × the policy's point value; an item or code prize the larger of its published market
    value and the catalog item's market price (``catalog``); "no prize" 0."""
    if prize.kind == PrizeKind.NONE:
        return Decimal("0.00")
    if prize.kind == PrizeKind.POINTS:
        return max((Decimal(prize.points or 0) * point_value_yuan).quantize(CENT), prize.market_value)
    return max(prize.market_value, catalog if catalog is not None else Decimal("0.00"))


def lottery_seed_new() -> tuple[str, str]:
    """A fresh secret seed (64 hex characters from ``secrets``) and its SHA-256 (hex). Pure."""
    seed = secrets.token_hex(32)
    return seed, rules.seed_hash(seed)


@transaction.atomic
def lottery_campaign_create(*, name: str, starts_at: datetime, ends_at: datetime, **fields) -> LotteryCampaign:
    """Create an unpublished campaign with a new seed and its hash. ``fields``: any other
    LotteryCampaign field (cost_points, daily_limit, …). Locks nothing. Not idempotent."""
    seed, digest = lottery_seed_new()
    return LotteryCampaign.objects.create(
        name=name, starts_at=starts_at, ends_at=ends_at, seed=seed, seed_hash=digest, **fields
    )


def _prize_problems(prize: LotteryPrize, policy: LotteryPolicy, point_value: Decimal) -> list[str]:
    label = prize.name or f"#{prize.pk}"
    problems = []
    if not prize.name.strip():
        problems.append(_("Prize #%(id)s has no name.") % {"id": prize.pk})
    if prize.kind == PrizeKind.POINTS and not prize.points:
        problems.append(_("Prize “%(prize)s”: a points prize needs its points.") % {"prize": label})
    if prize.kind in (PrizeKind.PRODUCT, PrizeKind.CODE) and prize.product_id is None:
        problems.append(_("Prize “%(prize)s”: choose the catalog item it delivers.") % {"prize": label})
    if prize.kind != PrizeKind.NONE and not prize.quantity:
        problems.append(_("Prize “%(prize)s”: publish its quantity.") % {"prize": label})
    catalog = catalog_value(prize)
    if catalog is not None and prize.market_value < catalog:
        problems.append(
            _("Prize “%(prize)s”: its market value ¥%(value)s is below the catalog item's market price ¥%(price)s.")
            % {"prize": label, "value": prize.market_value, "price": catalog}
        )
    value = prize_value(prize, point_value_yuan=point_value, catalog=catalog)
    if value > policy.top_prize_cap:
        problems.append(
            _("Prize “%(prize)s” is worth ¥%(value)s, more than the ¥%(cap)s allowed.")
            % {"prize": label, "value": value, "cap": policy.top_prize_cap}
        )
    capacity = catalog_capacity(prize)
    if capacity is not None and prize.quantity and capacity < prize.quantity:
        problems.append(
            _("Prize “%(prize)s”: the catalog can deliver only %(capacity)s, fewer than the %(quantity)s published.")
            % {"prize": label, "capacity": capacity, "quantity": prize.quantity}
        )
    return problems


def lottery_campaign_validate(*, campaign: LotteryCampaign, prizes: list[LotteryPrize], now: datetime) -> list[str]:
    """Every reason the campaign cannot be published (translated texts); [] when it can. Reads the
    policy and the ledger's point value."""
    policy = LotteryPolicy.load()
    point_value = points_selectors.point_value_yuan()
    problems: list[str] = []
    if not campaign.name.strip():
        problems.append(_("Give the campaign a name."))
    if not campaign.description.strip():
        problems.append(_("Describe the campaign and its rules."))
    if campaign.ends_at <= campaign.starts_at:
        problems.append(_("The campaign must end after it starts."))
    elif campaign.ends_at <= now:
        problems.append(_("The campaign has already ended."))
    elif campaign.starts_at <= now:
        problems.append(_("The campaign has already started: set a later start."))
    if not campaign.seed or rules.seed_hash(campaign.seed) != campaign.seed_hash:
        problems.append(_("The campaign's seed is missing."))
    if not prizes:
        problems.append(_("Add the prizes."))
    total = sum(p.weight_bp for p in prizes)
    if prizes and total != rules.BASIS_POINTS:
        problems.append(
            _("The probabilities add up to %(total)s, not 100%%.") % {"total": rules.probability_text(total)}
        )
    win = rules.win_rate_bp(_specs(prizes))
    floor = max(policy.win_floor_bp, WIN_FLOOR_MIN_BP)  # whatever a row says, never below 10%
    if prizes and win < floor:
        problems.append(
            _("The chance of winning is %(rate)s, below the %(floor)s required.")
            % {"rate": rules.probability_text(win), "floor": rules.probability_text(floor)}
        )
    for prize in prizes:
        problems.extend(_prize_problems(prize, policy, point_value))
    consolation = campaign.consolation_prize_id
    if consolation is not None:
        match = next((p for p in prizes if p.pk == consolation), None)
        if match is None or match.kind == PrizeKind.NONE:
            problems.append(_("The consolation prize must be one of this campaign's prizes."))
    return problems


def _specs(prizes: list[LotteryPrize]) -> list[rules.PrizeSpec]:
    return [rules.PrizeSpec(id=p.pk, weight_bp=p.weight_bp, wins=p.kind != PrizeKind.NONE) for p in prizes]


@transaction.atomic
def lottery_campaign_publish(*, campaign_id: int, actor_id: int | None = None, now: datetime | None = None) -> None:
    """Validate and publish: sets ``published_at`` and every prize's ``remaining`` to its quantity.

    Raises CampaignNotFoundError, CampaignInvalidError(problems=[…]) listing every problem
    (nothing written). After this the campaign is frozen (``rules.campaign_is_frozen``).
    Locks the campaign row. Safe to call twice (a published campaign is left as it is).
    ``actor_id``: the operator, for the admin's history (kept by the caller).
    """
    now = now or timezone.now()
    campaign = LotteryCampaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignNotFoundError()
    if rules.campaign_is_frozen(campaign):
        return
    prizes = list(campaign.prizes.order_by("position", "pk"))
    problems = lottery_campaign_validate(campaign=campaign, prizes=prizes, now=now)
    if problems:
        raise CampaignInvalidError(problems=problems)
    for prize in prizes:
        LotteryPrize.objects.filter(pk=prize.pk).update(remaining=prize.quantity)
    campaign.published_at = now
    campaign.save(update_fields=["published_at"])
