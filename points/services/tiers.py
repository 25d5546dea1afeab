"""Tiers: qualify by points earned in a rolling window; up at once, down only monthly.

Qualifying points are the points that became available from earning (earn and vest
entries) minus reversals of them, inside the window; pending points do not count until
they vest. The reads (qualifying points, the ladder, when the next recalculation is) live
in ``points.selectors.tiers``; this module holds the writes.

A member may also enjoy a higher tier for a while without earning it: a tier trial
(``TierGrant``, bought in the mall). The tier whose benefits apply is the higher of the
earned tier and the trials running now (``effective_tier``); trials never change the
earned tier, so the recalculation, the warnings and the upgrade notices ignore them
(docs/decisions/0020).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from points import locks, policies, rules
from points.enums import TierChange
from points.exceptions import IdempotencyConflictError, InvalidTierTrialError, UnknownTierError
from points.models import Account, Tier, TierGrant
from points.selectors.tiers import (
    keep_requirement,
    ladder,
    next_recalculation,
    qualifying_by_account,
    qualifying_points,
    window_start,
)
from points.signals import tier_changed, tier_downgrade_warning
from pointsmall.kernel import clock

# Ten years: a bound on what one trial (days × quantity of an order) may lend.
MAX_TRIAL_DAYS = 3660


@dataclass(frozen=True)
class TierTrialResult:
    tier: str  # tier code
    starts_at: datetime
    ends_at: datetime
    replayed: bool = False


@transaction.atomic
def tier_trial_grant(
    *, user_id: int, tier_code: str, days: int, idempotency_key: str, reference: str = ""
) -> TierTrialResult:
    """Lend a member the tier ``tier_code`` for ``days`` × 24 hours (a tier trial).

    The trial starts now, or when the member's running trials of this tier or a higher one
    end, so that two 7-day Gold trials make 14 days of Gold. The member enjoys the higher of
    their earned tier and the trial, so a trial never lowers anyone; it ends by itself.
    Raises UnknownTierError, InvalidTierTrialError (the entry tier, or days outside 1..MAX_TRIAL_DAYS).
    Locks: the account. Safe to call twice: the same key returns the first grant
    (IdempotencyConflictError when it was used for another member or tier).
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TRIAL_DAYS:
        raise InvalidTierTrialError(max=MAX_TRIAL_DAYS)
    account = locks.account_for_update(user_id=user_id)
    existing = TierGrant.objects.filter(idempotency_key=idempotency_key).select_related("tier").first()
    if existing is not None:
        if existing.account_id != account.pk or existing.tier.code != tier_code:
            raise IdempotencyConflictError()
        return TierTrialResult(existing.tier.code, existing.starts_at, existing.ends_at, replayed=True)
    tiers = ladder()
    tier = next((t for t in tiers if t.code == tier_code), None)
    if tier is None:
        raise UnknownTierError(tier=tier_code)
    if tier.rank == tiers[0].rank:
        raise InvalidTierTrialError(max=MAX_TRIAL_DAYS)
    now = timezone.now()
    covered_until = TierGrant.objects.filter(account=account, ends_at__gt=now, tier__rank__gte=tier.rank).aggregate(
        until=Max("ends_at")
    )["until"]
    starts_at, ends_at = clock.queued_window(now=now, busy_until=covered_until, days=days)
    grant = TierGrant.objects.create(
        account=account,
        tier=tier,
        starts_at=starts_at,
        ends_at=ends_at,
        reference=reference[:100],
        idempotency_key=idempotency_key,
        created_at=now,
    )
    return TierTrialResult(tier.code, grant.starts_at, grant.ends_at)


def _tier_at(tiers: list[Tier], rank: int) -> Tier:
    return next(t for t in tiers if t.rank == rank)


def _rank_of(account: Account, tiers: list[Tier]) -> int:
    return account.tier.rank if account.tier_id else tiers[0].rank


def _set_tier(account: Account, tier: Tier, change: str, now: datetime) -> None:
    old = account.tier.code if account.tier_id else ""
    Account.objects.filter(pk=account.pk).update(tier=tier, tier_changed_at=now)
    account.tier, account.tier_changed_at = tier, now
    tier_changed.send(sender=Account, user_id=account.user_id, old_tier=old, new_tier=tier.code, change=change)


def upgrade_if_qualified(account: Account, now: datetime) -> None:
    """Move a locked account up as soon as its qualifying points reach a higher tier."""
    tiers = ladder()
    if not tiers:
        return
    points = qualifying_points(account_id=account.pk, now=now)
    target = rules.tier_rank_for(points, [(t.rank, t.threshold) for t in tiers])
    if target > _rank_of(account, tiers):
        _set_tier(account, _tier_at(tiers, target), TierChange.UPGRADE, now)


@dataclass(frozen=True)
class RecalculationReport:
    members: int
    upgraded: int
    downgraded: int
    unchanged: int
    changes: list[tuple[int, str, str]]  # (user id, from tier code, to tier code)


def points_tiers_recalculate(*, now: datetime | None = None, dry_run: bool = False) -> RecalculationReport:
    """The monthly recalculation: every member to the tier their window earns, down at most N steps.

    One aggregate query for the whole membership, then one locked update per changed member.
    Safe to run twice: a second run in the same month finds nothing to change, because a
    member already moved down is compared with where they now stand.
    """
    now = now or timezone.now()
    tiers = ladder()
    rules_policy = policies.tier_policy()
    thresholds = [(t.rank, t.threshold) for t in tiers]
    totals = qualifying_by_account(window_start(now, rules_policy.window_months), now)
    changes: list[tuple[int, str, str]] = []
    upgraded = downgraded = 0
    month_start = clock.period_start(now, "month")
    accounts = Account.objects.select_related("tier").order_by("pk")
    members = 0
    for account in accounts.iterator(chunk_size=2000):
        members += 1
        current = _rank_of(account, tiers)
        qualified = rules.tier_rank_for(totals.get(account.pk, 0), thresholds)
        target = rules.downgrade_rank(current, qualified, rules_policy.max_downgrade_steps)
        if target < current and account.tier_changed_at and account.tier_changed_at >= month_start:
            # Already moved this month: a re-run must not take a second step down.
            target = current
        if target == current:
            continue
        change = TierChange.UPGRADE if target > current else TierChange.DOWNGRADE
        changes.append((account.user_id, _tier_at(tiers, current).code, _tier_at(tiers, target).code))
        if change == TierChange.UPGRADE:
            upgraded += 1
        else:
            downgraded += 1
        if not dry_run:
            with transaction.atomic():
                locked = locks.account_with_tier_for_update(account_id=account.pk)
                if _rank_of(locked, tiers) == current:
                    _set_tier(locked, _tier_at(tiers, target), change, now)
    return RecalculationReport(members, upgraded, downgraded, members - upgraded - downgraded, changes)


def points_tiers_warn_downgrades(*, now: datetime | None = None) -> int:
    """Warn members who would drop a tier at the next recalculation, once per cycle.

    Runs daily; acts only inside the policy's warning window before the recalculation.
    Returns the number of members warned.
    """
    now = now or timezone.now()
    at = next_recalculation(now)
    if at - now > timedelta(days=policies.tier_policy().warn_days_before):
        return 0
    tiers = ladder()
    warned = 0
    candidates = (
        Account.objects.filter(tier__rank__gt=tiers[0].rank if tiers else 0)
        .exclude(tier_warned_for=at.date())
        .select_related("tier")
        .order_by("pk")
    )
    for account in candidates.iterator(chunk_size=1000):
        requirement = keep_requirement(account=account, now=now, tiers=tiers)
        if requirement is None:
            continue
        needed, deadline = requirement
        with transaction.atomic():
            claimed = (
                Account.objects.filter(pk=account.pk)
                .exclude(tier_warned_for=at.date())
                .update(tier_warned_for=at.date())
            )
            if claimed:
                tier_downgrade_warning.send(
                    sender=Account, user_id=account.user_id, tier=account.tier.code, needed=needed, deadline=deadline
                )
                warned += 1
    return warned
