"""Earning by rule: fixed-points sources (sign-up, review, share, check-in...), with tier and
campaign multipliers and per-member caps. Purchases are in ``purchases.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from points import locks, notices, rules
from points.enums import CapPeriod, EarningSource
from points.exceptions import IdempotencyConflictError, UnknownSourceError
from points.models import Account, Campaign, EarningRule, Entry, IdentityClaim
from points.selectors.identities import identity_hashes
from points.selectors.tiers import effective_tier
from points.services import _core
from points.services._core import Receipt
from points.services.ledger import points_earn
from pointsmall.kernel import clock


@dataclass(frozen=True)
class AwardResult:
    """What an earning request got. ``granted`` may be less than asked (caps, budget) or 0."""

    granted: int
    requested: int
    receipt: Receipt | None
    message: str = ""
    replayed: bool = False
    # The same reason as a stored text (points.notices.nested), for messages read later.
    reason: dict | None = None


def _short(got: int, asked: int, receipt: Receipt | None, why: notices.Notice) -> AwardResult:
    """A result that gave less than the rule's points, with why: now (``message``) and to store (``reason``)."""
    reason = why.nested()
    return AwardResult(got, asked, receipt, notices.render_nested(reason), reason=reason)


def active_campaign(*, source: str, tier_id: int | None, now: datetime) -> Campaign | None:
    """The best-paying campaign running now for this source and tier (campaigns do not stack)."""
    campaigns = Campaign.objects.filter(active=True, starts_at__lte=now, ends_at__gt=now).filter(
        Q(budget__isnull=True) | Q(budget_used__lt=F("budget"))
    )
    best = None
    for campaign in campaigns.prefetch_related("tiers").order_by("-multiplier", "pk"):
        # Read defensively: whatever the row holds, an earning never fails on it (decision 0014).
        sources = campaign.source_codes
        if sources is not None and source not in sources:
            continue
        tier_ids = {t.pk for t in campaign.tiers.all()}
        if tier_ids and tier_id not in tier_ids:
            continue
        best = campaign
        break
    return best


def granted_in_periods(account: Account, source: str, now: datetime) -> dict[str, int]:
    """Points this source already gave the member this business day, week and month."""
    month_start = clock.period_start(now, CapPeriod.MONTH)
    week_start = clock.period_start(now, CapPeriod.WEEK)
    day_start = clock.period_start(now, CapPeriod.DAY)
    since = min(month_start, week_start)
    rows = Entry.objects.filter(account=account, source=source, created_at__gte=since).values_list(
        "created_at", "amount", "pending_amount"
    )
    granted = {CapPeriod.DAY: 0, CapPeriod.WEEK: 0, CapPeriod.MONTH: 0}
    for created_at, amount, pending_amount in rows:
        points = amount + pending_amount
        if created_at >= month_start:
            granted[CapPeriod.MONTH] += points
        if created_at >= week_start:
            granted[CapPeriod.WEEK] += points
        if created_at >= day_start:
            granted[CapPeriod.DAY] += points
    return granted


def _consume_budget(campaign: Campaign, extra: int) -> int:
    """Take up to ``extra`` points from a campaign's budget; returns what was available."""
    if campaign.budget is None or extra <= 0:
        return extra
    locked = locks.campaign_for_update(campaign_id=campaign.pk)
    take = min(extra, locked.budget - locked.budget_used)
    if take > 0:
        Campaign.objects.filter(pk=campaign.pk).update(budget_used=F("budget_used") + take)
    return max(take, 0)


def award_amount(
    *, account: Account, rule: EarningRule, base: int | Decimal, now: datetime
) -> tuple[int, Campaign | None]:
    """Points for ``base`` after the member's tier multiplier and the best running campaign.

    ``base`` may be a fraction (a purchase's exact Σ amount × rate); the result is rounded
    down once, at the end (docs/decisions/0007).
    """
    if not rule.apply_multipliers:
        return rules.boosted(base), None
    # The tier whose benefits the member enjoys now: a running tier trial counts (docs/decisions/0020).
    tier = effective_tier(account, now)
    tier_multiplier = tier.earn_multiplier if tier is not None else Decimal(1)
    campaign = active_campaign(source=rule.source, tier_id=tier.pk if tier is not None else None, now=now)
    with_tier = rules.boosted(base, tier_multiplier)
    if campaign is None:
        return with_tier, None
    boosted = rules.boosted(base, tier_multiplier, campaign.multiplier)
    return with_tier + _consume_budget(campaign, boosted - with_tier), campaign


@transaction.atomic
def points_award(
    *,
    user_id: int,
    source: str,
    idempotency_key: str,
    base_points: int | None = None,
    reference: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
    available_at: datetime | None = None,
    now: datetime | None = None,
) -> AwardResult:
    """Give a member the points an earning source is worth now, within its caps.

    ``base_points`` overrides the rule's fixed points (e.g. a task worth 30). What is over
    a cap is not granted and the result says why (``message`` now, ``reason`` to store).
    ``memo_code``/``memo_params``: the history text (points_earn). Locks: the account, then a budgeted
    campaign row. Safe to call twice (same key: the first result, nothing new).
    ``now``: the instant of the award (default: the clock; see points_earn).
    """
    if source not in EarningSource.values:
        raise UnknownSourceError()
    account = locks.account_for_update(user_id=user_id)
    existing = Entry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.account_id != account.pk or existing.source != source:
            raise IdempotencyConflictError()
        points = existing.amount + existing.pending_amount
        return AwardResult(points, points, _core.receipt(account, existing, replayed=True), replayed=True)
    _core.check_not_frozen(account)
    rule = EarningRule.objects.filter(source=source).first()
    if rule is None or not rule.active:
        return _short(0, 0, None, notices.award_switched_off(source=source))
    if base_points is None and rule.points <= 0:
        # A fixed-points rule set to 0 gives nothing; it must not make the member's action fail.
        return _short(0, 0, None, notices.award_switched_off(source=source))
    base = _core.check_positive(base_points if base_points is not None else rule.points)
    now = now or timezone.now()
    caps = {CapPeriod.DAY: rule.daily_cap, CapPeriod.WEEK: rule.weekly_cap, CapPeriod.MONTH: rule.monthly_cap}
    room = rules.cap_room(caps, granted_in_periods(account, source, now) if any(caps.values()) else {})
    requested, _campaign = award_amount(account=account, rule=rule, base=base, now=now)
    granted = requested if room is None else min(requested, room)
    if granted <= 0:
        return _short(0, requested, None, notices.award_none(source=source))
    receipt = points_earn(
        user_id=user_id,
        amount=granted,
        idempotency_key=idempotency_key,
        reference=reference,
        memo_code=memo_code,
        memo_params=memo_params,
        available_at=available_at,
        source=source,
        now=now,
    )
    if granted < requested:
        return _short(
            granted, requested, receipt, notices.award_capped(source=source, granted=granted, requested=requested)
        )
    return AwardResult(granted, requested, receipt)


def _signup_key(account_id: int) -> str:
    """The idempotency key of an account's sign-up bonus: one per account, ever."""
    return f"signup-bonus:{account_id}"


@transaction.atomic
def signup_bonus_grant(*, user_id: int, identities: list[str], now: datetime | None = None) -> AwardResult:
    """The sign-up bonus, once per person: refused if any of the member's verified identities
    (``email:…``, ``phone:…``) has claimed it before, on this or a deleted account.

    The ledger does not know what makes two addresses one person: the caller passes every
    form that must match (accounts passes the address as typed and its normalised mailbox,
    see accounts.rules.normalize_email_identity), and all of them are claimed together.
    ``now``: the instant of the award (default: the clock; see points_earn).
    Locks: the account. Safe to call twice.
    """
    account = locks.account_for_update(user_id=user_id)
    key = _signup_key(account.pk)
    if Entry.objects.filter(idempotency_key=key).exists():
        return points_award(user_id=user_id, source=EarningSource.SIGNUP, idempotency_key=key, now=now)
    hashes = sorted(identity_hashes(identities))
    if not hashes:
        return _short(0, 0, None, notices.signup_needs_email())
    if IdentityClaim.objects.filter(reward=EarningSource.SIGNUP, identity_hash__in=hashes).exists():
        return _short(0, 0, None, notices.signup_already_given())
    try:
        with transaction.atomic():
            IdentityClaim.objects.bulk_create(
                [IdentityClaim(reward=EarningSource.SIGNUP, identity_hash=h, account=account) for h in hashes]
            )
    except IntegrityError:
        # Another account claimed the same identity a moment ago.
        return _short(0, 0, None, notices.signup_already_given())
    return points_award(user_id=user_id, source=EarningSource.SIGNUP, idempotency_key=key, now=now)


def claim_identities(*, user_id: int, identities: list[str]) -> None:
    """Record identities (e.g. a phone verified later) against an already paid sign-up bonus,
    so a new account with that phone cannot claim it again."""
    account = Account.objects.filter(user_id=user_id).first()
    if account is None or not Entry.objects.filter(idempotency_key=_signup_key(account.pk)).exists():
        return
    for h in identity_hashes(identities):
        IdentityClaim.objects.get_or_create(reward=EarningSource.SIGNUP, identity_hash=h, defaults={"account": account})


def points_campaigns_switch_off(*, campaign_ids: Iterable[int]) -> int:
    """Switch off the active campaigns among ``campaign_ids`` now; returns how many were on.

    One transaction. Each is saved on its own (``update_fields=["active"]``) so the change
    history records who switched it off; ``budget_used`` is not written (earnings own it), so
    no campaign lock is taken.
    """
    switched = 0
    with transaction.atomic():
        for campaign in Campaign.objects.filter(pk__in=list(campaign_ids), active=True).order_by("pk"):
            campaign.active = False
            campaign.save(update_fields=["active"])
            switched += 1
    return switched
