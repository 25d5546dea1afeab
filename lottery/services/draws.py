"""Drawing: one transaction from eligibility to the prize (docs/decisions/0027-lottery.md).

Lock order: the member's points account (serialises one member's draws, so limits, free draws
and pity cannot be raced), then the member's DrawerState row, then the prize row (guarded
UPDATE of ``remaining``), then its PrizeRelease row (guarded UPDATE/INSERT of the day's
count), then whatever the prize's delivery locks (the catalog's code and stock rows).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.enums import NotificationKind
from lottery import notices, rules, signals
from lottery.exceptions import (
    AddressRequiredError,
    CampaignDrawLimitError,
    CampaignNotFoundError,
    CampaignNotRunningError,
    DailyDrawLimitError,
    NotEligibleError,
)
from lottery.models import Draw, DrawerState, DrawOutcome, LotteryCampaign, LotteryPrize, PrizeKind, PrizeRelease
from lottery.services import fulfilment
from points import selectors as points_selectors
from points import services as points_services
from points.confirmation import Totals, confirmation_check, confirmation_read, confirmation_sign
from points.enums import EarningSource
from points.exceptions import IdempotencyConflictError
from pointsmall.kernel import clock
from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.language import pick_language

CONFIRMATION_PURPOSE = "lottery.draw"
CLIENT_SEED_MAX = 64


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
    # The prize the number picked (None: none was picked, a campaign that was never valid): where
    # the wheel stops when the draw fell through and the campaign has no "no prize" slice.
    picked_id: int | None = None


def draw_reference(draw_id: int) -> str:
    """The reference of everything a draw books (its spend, its points prize, its order): "lottery.draw:<id>"."""
    return f"lottery.draw:{draw_id}"


def spend_key(idempotency_key: str) -> str:
    return f"lottery:{idempotency_key}"


def prize_key(draw_id: int) -> str:
    # Not "lottery:<id>": a member's request key could be a number and collide with it.
    return f"lottery.prize:{draw_id}"


# --- Reading what a draw would be --------------------------------------------------------------


def _window_text(campaign: LotteryCampaign) -> str:
    return f"{clock.minute_text(campaign.starts_at)} – {clock.minute_text(campaign.ends_at)}"


def _published(campaign_id: int) -> LotteryCampaign:
    campaign = LotteryCampaign.objects.filter(pk=campaign_id, published_at__isnull=False).first()
    if campaign is None:
        raise CampaignNotFoundError()
    return campaign


def check_running(campaign: LotteryCampaign, now: datetime) -> None:
    if not campaign.starts_at <= now < campaign.ends_at:
        raise CampaignNotRunningError(window=_window_text(campaign))


def check_eligible(campaign: LotteryCampaign, user_id: int, now: datetime) -> None:
    """Raises NotEligibleError (tier, account age)."""
    if campaign.tier_codes:
        tier = points_selectors.member_tier(user_id=user_id)
        if tier is None or tier.code not in campaign.tier_codes:
            names = dict(points_selectors.tier_choices())
            allowed = ", ".join(str(names.get(code, code)) for code in campaign.tier_codes)
            raise NotEligibleError(reason=_("for members of %(tiers)s") % {"tiers": allowed})
    if campaign.min_account_age_days:
        joined = get_user_model().objects.filter(pk=user_id).values_list("date_joined", flat=True).first()
        if joined is None or now - joined < timedelta(days=campaign.min_account_age_days):
            raise NotEligibleError(
                reason=_("accounts at least %(days)s days old") % {"days": campaign.min_account_age_days}
            )


def draws_today(campaign_id: int, user_id: int, now: datetime) -> int:
    start = clock.business_day_start(clock.business_date(now))
    return Draw.objects.filter(campaign_id=campaign_id, member_id=user_id, created_at__gte=start).count()


def check_limits(campaign: LotteryCampaign, user_id: int, drawn: int, now: datetime) -> None:
    """Raises DailyDrawLimitError, CampaignDrawLimitError. ``drawn``: the member's draws in the campaign."""
    if campaign.daily_limit is not None and draws_today(campaign.pk, user_id, now) >= campaign.daily_limit:
        raise DailyDrawLimitError(limit=campaign.daily_limit)
    if campaign.campaign_limit is not None and drawn >= campaign.campaign_limit:
        raise CampaignDrawLimitError(limit=campaign.campaign_limit)


def free_draws_left(*, user_id: int, now: datetime) -> int:
    """The member's tier free draws left this business month (across campaigns that honour them)."""
    tier = points_selectors.member_tier(user_id=user_id)
    allowance = tier.monthly_free_draws if tier else 0
    if not allowance:
        return 0
    used = Draw.objects.filter(member_id=user_id, free=True, created_at__gte=clock.period_start(now, "month")).count()
    return max(allowance - used, 0)


def next_cost(campaign: LotteryCampaign, user_id: int, now: datetime) -> tuple[int, bool]:
    """(points the next draw costs, whether it is a tier free draw)."""
    if campaign.cost_points and campaign.tier_free_draws and free_draws_left(user_id=user_id, now=now) > 0:
        return 0, True
    return campaign.cost_points, False


def lottery_draw_cost(*, user_id: int, campaign_id: int, now: datetime | None = None) -> Totals:
    """What the member's next draw costs now (0 points when a tier free draw is left).
    Raises CampaignNotFoundError. Reads only."""
    campaign = _published(campaign_id)
    points, _free = next_cost(campaign, user_id, now or timezone.now())
    return Totals(points=points)


def _subject(campaign_id: int) -> str:
    return f"lottery:{campaign_id}"


def lottery_draw_confirmation_sign(*, user_id: int, campaign_id: int, now: datetime | None = None) -> str:
    """The token the draw button sends: the cost it shows (``lottery_draw_cost``) signed for this
    member and campaign (points.confirmation, purpose "lottery.draw"). Writes nothing."""
    totals = lottery_draw_cost(user_id=user_id, campaign_id=campaign_id, now=now)
    return confirmation_sign(
        purpose=CONFIRMATION_PURPOSE, user_id=user_id, subject=_subject(campaign_id), totals=totals
    )


def lottery_draw_confirmation_read(*, token: str, user_id: int, campaign_id: int) -> Totals:
    """The cost the member confirmed; ConfirmationInvalidError for a missing, altered or foreign token. Pure."""
    return confirmation_read(token=token, purpose=CONFIRMATION_PURPOSE, user_id=user_id, subject=_subject(campaign_id))


# --- The draw ----------------------------------------------------------------------------------


def _prize_name(prize: LotteryPrize | None) -> str:
    if prize is None:
        return ""
    return str(pick_language(zh=prize.name, en=prize.name_en, fallback=True) or "")


def _message(outcome: str, prize: LotteryPrize | None) -> str:
    if outcome == DrawOutcome.WON and prize is not None:
        return _("You won %(prize)s!") % {"prize": _prize_name(prize)}
    if outcome == DrawOutcome.FELL_THROUGH:
        if prize is not None:
            return _("That prize is gone for now: you get %(prize)s instead.") % {"prize": _prize_name(prize)}
        return _("That prize is gone for now: no prize this time.")
    return _("No prize this time. Thanks for playing!")


def _result(draw: Draw, *, replayed: bool) -> DrawResult:
    prize = draw.prize
    return DrawResult(
        draw_id=draw.pk,
        campaign_id=draw.campaign_id,
        outcome=draw.outcome,
        prize_id=prize.pk if prize else None,
        prize_name=_prize_name(prize),
        prize_kind=prize.kind if prize else "",
        points_won=(prize.points or 0) if prize is not None and prize.kind == PrizeKind.POINTS else 0,
        number=draw.number if draw.number is not None else 0,
        pity=draw.pity,
        free=draw.free,
        cost_points=draw.cost_points,
        replayed=replayed,
        reward_reference=draw.reward_reference,
        message=_message(draw.outcome, prize),
        picked_id=draw.picked_id,
    )


def _replay(idempotency_key: str, user_id: int, campaign_id: int) -> DrawResult | None:
    """The first draw of this key, or None. IdempotencyConflictError when the key was used by
    another member or for another campaign (a replay must be the same request)."""
    draw = Draw.objects.select_related("prize").filter(idempotency_key=idempotency_key).first()
    if draw is None:
        return None
    if draw.member_id != user_id or draw.campaign_id != campaign_id:
        raise IdempotencyConflictError()
    return _result(draw, replayed=True)


def lottery_draw_open_check(*, campaign_id: int, now: datetime | None = None) -> None:
    """Raises CampaignNotFoundError (not published) or CampaignNotRunningError (upcoming or
    ended, with its window). Reads only: what the draw view checks before anything else."""
    check_running(_published(campaign_id), now or timezone.now())


def _in_stock(prize: LotteryPrize, day) -> bool:
    """Whether a prize can be released now (stock left, today's cap not reached, and for an item or
    code prize the catalog can still deliver one): a read, for pity's candidates."""
    if prize.kind == PrizeKind.NONE:
        return False
    if prize.remaining is not None and prize.remaining <= 0:
        return False
    if prize.kind in (PrizeKind.PRODUCT, PrizeKind.CODE) and prize.product_id is not None:
        delivery = fulfilment.fulfiller(fulfilment.PRODUCT)
        if delivery is None or delivery.capacity(product_id=prize.product_id) <= 0:
            return False
    if prize.daily_cap is not None:
        released = PrizeRelease.objects.filter(prize=prize, day=day).values_list("released", flat=True).first() or 0
        if released >= prize.daily_cap:
            return False
    return True


def _take_release(prize: LotteryPrize, day) -> bool:
    """Count one release of ``prize`` today under its daily cap: guarded UPDATE, or INSERT of the day's row."""
    if prize.daily_cap is None:
        return True
    guarded = PrizeRelease.objects.filter(prize=prize, day=day, released__lt=prize.daily_cap)
    if guarded.update(released=F("released") + 1) == 1:
        return True
    if PrizeRelease.objects.filter(prize=prize, day=day).exists():
        return False
    try:
        with transaction.atomic():
            PrizeRelease.objects.create(prize=prize, day=day, released=1)
        return True
    except IntegrityError:  # another draw inserted today's row first: count against it
        return guarded.update(released=F("released") + 1) == 1


def _deliver(*, prize: LotteryPrize, campaign: LotteryCampaign, draw: Draw, address_id: int | None) -> str | None:
    """Deliver the prize; returns the reward reference, or None when nothing can deliver it.
    Raises DomainError when its delivery refuses (no stock or code left in the catalog)."""
    reference = draw_reference(draw.pk)
    if prize.kind == PrizeKind.POINTS:
        receipt = points_services.points_earn(
            user_id=draw.member_id,
            amount=prize.points or 0,
            idempotency_key=prize_key(draw.pk),
            reference=reference,
            source=EarningSource.LOTTERY,
            **notices.prize_points(campaign=campaign, prize=prize).memo,
        )
        return f"points.entry:{receipt.entry_id}"
    delivery = fulfilment.fulfiller(fulfilment.PRODUCT)
    if delivery is None:
        return None
    order_id = delivery.place(
        member_id=draw.member_id, product_id=prize.product_id, reference=reference, address_id=address_id
    )
    return f"catalog.order:{order_id}"


def _award(*, prize: LotteryPrize, campaign: LotteryCampaign, draw: Draw, day, address_id: int | None) -> str | None:
    """Release one unit of ``prize`` and deliver it, or nothing at all (sold out, today's cap reached,
    not deliverable): returns the reward reference, or None. A savepoint undoes a partial award."""
    try:
        with transaction.atomic():
            reference = None
            taken = prize.quantity is None or (
                LotteryPrize.objects.filter(pk=prize.pk, remaining__gt=0).update(remaining=F("remaining") - 1) == 1
            )
            if taken and _take_release(prize, day):
                reference = _deliver(prize=prize, campaign=campaign, draw=draw, address_id=address_id)
            if reference is None:
                transaction.set_rollback(True)  # undo this savepoint only: the draw goes on
            return reference
    except DomainError:
        return None


def needs_address(prizes: list[LotteryPrize]) -> bool:
    delivery = fulfilment.fulfiller(fulfilment.PRODUCT)
    return any(
        delivery is not None and delivery.needs_address(product_id=p.product_id)
        for p in prizes
        if p.kind == PrizeKind.PRODUCT and p.product_id is not None
    )


def _address(user_id: int, address_id: int | None, prizes: list[LotteryPrize]) -> int | None:
    """The address a physical prize ships to: the one chosen, else the member's default.
    AddressRequiredError before drawing when the campaign has physical prizes and there is none."""
    if not needs_address(prizes):
        return None
    if address_id is not None:
        return accounts_selectors.address_get(user_id=user_id, address_id=address_id).id
    default = next((a for a in accounts_selectors.address_list(user_id=user_id) if a.is_default), None)
    if default is None:
        raise AddressRequiredError()
    return default.id


@transaction.atomic
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
    """Draw once: eligibility and limits, the cost, the provably fair number, the prize.

    ``idempotency_key``: the request's key (≤ 100 chars); the same key again returns the first
    draw (``replayed=True``) and writes nothing. ``client_seed``: the member's part of the
    number (≤ 64 chars; empty: the server picks one with ``secrets``). ``confirmed``: the cost
    the draw button showed (``lottery_draw_confirmation_read``); a different cost now raises
    PriceChangedError. ``address_id``: where a physical prize ships (default: the member's
    default address). A tier free draw is used before paying (``cost_points`` 0, ``free``).
    A prize that is sold out or has reached today's release falls to the consolation prize or
    to no prize (``FELL_THROUGH``); other prizes' odds never change. Pity: after
    ``pity_after`` draws without a win, the number picks among the winning prizes in stock.
    Raises CampaignNotFoundError, CampaignNotRunningError, NotEligibleError,
    DailyDrawLimitError, CampaignDrawLimitError, AddressRequiredError, InsufficientPointsError,
    PriceChangedError, IdempotencyConflictError (the key is another member's or was used for
    another campaign): nothing written.
    Locks: points account, DrawerState, the prize row, its release row, the catalog's rows of
    a delivered item. Safe to call twice.
    """
    now = now or timezone.now()
    if len(idempotency_key) > 100 or not idempotency_key:
        raise ValueError("idempotency_key must be 1…100 characters")
    if (first := _replay(idempotency_key, user_id, campaign_id)) is not None:
        return first
    campaign = _published(campaign_id)
    check_running(campaign, now)
    check_eligible(campaign, user_id, now)
    prizes = list(campaign.prizes.order_by("position", "pk"))
    address = _address(user_id, address_id, prizes)
    points_services.account_lock(user_id=user_id)
    if (first := _replay(idempotency_key, user_id, campaign_id)) is not None:
        return first
    state, _created = DrawerState.objects.get_or_create(campaign=campaign, member_id=user_id)
    state = DrawerState.objects.select_for_update().get(pk=state.pk)
    check_limits(campaign, user_id, state.draws, now)
    cost, free = next_cost(campaign, user_id, now)
    if confirmed is not None:
        confirmation_check(confirmed=confirmed, actual=Totals(points=cost))
    client_seed = (client_seed or secrets.token_hex(8)).strip()[:CLIENT_SEED_MAX]
    draw = Draw.objects.create(
        campaign=campaign,
        member_id=user_id,
        idempotency_key=idempotency_key,
        client_seed=client_seed,
        nonce=state.draws + 1,
        free=free,
        cost_points=cost,
    )
    draw.created_at = now
    if cost:
        receipt = points_services.points_spend(
            user_id=user_id,
            amount=cost,
            idempotency_key=spend_key(idempotency_key),
            reference=draw_reference(draw.pk),
            now=now,
            **notices.draw_spend(campaign=campaign).memo,
        )
        draw.spend_entry_id = receipt.entry_id
    number = rules.draw_number(seed=campaign.seed, draw_id=draw.pk, client_seed=client_seed, nonce=draw.nonce)
    by_id = {p.pk: p for p in prizes}
    specs = [rules.PrizeSpec(id=p.pk, weight_bp=p.weight_bp, wins=p.kind != PrizeKind.NONE) for p in prizes]
    day = clock.business_date(now)
    pity = False
    picked_spec = None
    if rules.pity_due(pity_after=campaign.pity_after, since_win=state.since_win):
        candidates = [s for s in specs if s.wins and _in_stock(by_id[s.id], day)]
        picked_spec = rules.pity_pick(number, candidates)
        pity = picked_spec is not None
    if picked_spec is None:
        picked_spec = rules.pick(number, specs)
    picked = by_id[picked_spec.id] if picked_spec is not None else None
    won: LotteryPrize | None = None
    reference: str | None = ""
    outcome = DrawOutcome.NO_PRIZE
    if picked is not None and picked.kind != PrizeKind.NONE:
        if (reference := _award(prize=picked, campaign=campaign, draw=draw, day=day, address_id=address)) is not None:
            won, outcome = picked, DrawOutcome.WON
        else:
            outcome, reference = DrawOutcome.FELL_THROUGH, ""
            consolation = by_id.get(campaign.consolation_prize_id) if campaign.consolation_prize_id else None
            if consolation is not None and consolation.kind != PrizeKind.NONE:
                reference = _award(prize=consolation, campaign=campaign, draw=draw, day=day, address_id=address) or ""
                won = consolation if reference else None
    draw.number = number
    draw.pity = pity
    draw.picked = picked
    draw.prize = won
    draw.outcome = outcome
    draw.reward_reference = reference or ""
    draw.save(
        update_fields=[
            "number",
            "pity",
            "picked",
            "prize",
            "outcome",
            "reward_reference",
            "spend_entry_id",
            "created_at",
        ]
    )
    DrawerState.objects.filter(pk=state.pk).update(
        draws=F("draws") + 1, since_win=0 if outcome == DrawOutcome.WON else F("since_win") + 1
    )
    if won is not None:
        accounts_services.notification_send(
            user_id=user_id,
            kind=NotificationKind.ACTIVITY,
            dedupe_key=draw_reference(draw.pk),
            **notices.prize_won(campaign=campaign, prize=won, draw_id=draw.pk).message,
        )
        signals.prize_won.send(
            sender=Draw,
            user_id=user_id,
            draw_id=draw.pk,
            campaign_id=campaign.pk,
            campaign_name=campaign.name,
            prize_id=won.pk,
            prize_name=won.name,
            prize_kind=won.kind,
            points=(won.points or 0) if won.kind == PrizeKind.POINTS else 0,
            reference=draw_reference(draw.pk),
            reward_reference=draw.reward_reference,
        )
    return _result(draw, replayed=False)
