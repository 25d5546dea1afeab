"""Tiers: qualify by points earned in a rolling window; up at once, down only monthly.

Qualifying points are the points that became available from earning (earn and vest
entries) minus reversals of them, inside the window. Pending points do not count until
they vest; operator adjustments and refunds of spends never count.

A member may also enjoy a higher tier for a while without earning it: a tier trial
(``TierGrant``, bought in the mall). The tier whose benefits apply is the higher of the
earned tier and the trials running now (``effective_tier``); trials never change the
earned tier, so the recalculation, the warnings and the upgrade notices ignore them
(docs/decisions/0020).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, IntegerField, Max, Q, Sum, When
from django.utils import timezone

from points import locks, rules
from points.enums import EntryKind, TierChange
from points.exceptions import IdempotencyConflictError, InvalidTierTrialError, UnknownTierError
from points.models import Account, Entry, Tier, TierGrant, TierPolicy
from points.signals import tier_changed, tier_downgrade_warning

# Ten years: a bound on what one trial (days × quantity of an order) may lend.
MAX_TRIAL_DAYS = 3660


_QUALIFYING = Case(
    When(Q(kind__in=[EntryKind.EARN, EntryKind.VEST], amount__gt=0), then=F("amount")),
    When(kind=EntryKind.REVERSE, then=F("amount") - F("debt_change")),
    default=0,
    output_field=IntegerField(),
)


def policy() -> TierPolicy:
    return TierPolicy.objects.filter(pk=1).first() or TierPolicy()


def ladder() -> list[Tier]:
    return list(Tier.objects.order_by("rank"))


def window_start(now: datetime, months: int) -> datetime:
    return rules.add_months(now, -months)


def qualifying_points(*, account_id: int, now: datetime | None = None, since: datetime | None = None) -> int:
    now = now or timezone.now()
    since = since or window_start(now, policy().window_months)
    total = Entry.objects.filter(account_id=account_id, created_at__gte=since, created_at__lte=now).aggregate(
        total=Sum(_QUALIFYING)
    )["total"]
    return max(total or 0, 0)


def trial_tier(*, account_id: int, now: datetime) -> Tier | None:
    """The highest tier a trial lends the member at ``now``, or None (one indexed query)."""
    grant = (
        TierGrant.objects.filter(account_id=account_id, starts_at__lte=now, ends_at__gt=now)
        .select_related("tier")
        .order_by("-tier__rank")
        .first()
    )
    return grant.tier if grant else None


def effective_tier(account: Account, now: datetime | None = None) -> Tier | None:
    """The tier whose benefits the member enjoys at ``now``: the earned one or a higher trial.

    A trial never lowers a member who is already higher, and stops counting at its end
    without any job running. None only when no tier exists at all.
    """
    now = now or timezone.now()
    earned = account.tier if account.tier_id else Tier.objects.order_by("rank").first()
    lent = trial_tier(account_id=account.pk, now=now)
    if lent is not None and (earned is None or lent.rank > earned.rank):
        return lent
    return earned


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
    starts_at = max(now, covered_until) if covered_until else now
    grant = TierGrant.objects.create(
        account=account,
        tier=tier,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=days),
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


def _qualifying_by_account(since: datetime, now: datetime) -> dict[int, int]:
    rows = (
        Entry.objects.filter(created_at__gte=since, created_at__lte=now)
        .values("account_id")
        .annotate(total=Sum(_QUALIFYING))
    )
    return {row["account_id"]: max(row["total"] or 0, 0) for row in rows}


def tiers_recalculate(*, now: datetime | None = None, dry_run: bool = False) -> RecalculationReport:
    """The monthly recalculation: every member to the tier their window earns, down at most N steps.

    One aggregate query for the whole membership, then one locked update per changed member.
    Safe to run twice: a second run in the same month finds nothing to change, because a
    member already moved down is compared with where they now stand.
    """
    now = now or timezone.now()
    tiers = ladder()
    rules_policy = policy()
    thresholds = [(t.rank, t.threshold) for t in tiers]
    totals = _qualifying_by_account(window_start(now, rules_policy.window_months), now)
    changes: list[tuple[int, str, str]] = []
    upgraded = downgraded = 0
    month_start = rules.period_start(now, "month", ZoneInfo(settings.TIME_ZONE))
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
                locked = Account.objects.select_for_update(of=("self",)).select_related("tier").get(pk=account.pk)
                if _rank_of(locked, tiers) == current:
                    _set_tier(locked, _tier_at(tiers, target), change, now)
    return RecalculationReport(members, upgraded, downgraded, members - upgraded - downgraded, changes)


def next_recalculation(now: datetime) -> datetime:
    """The next 1st of the month, 00:00 business time: when downgrades happen."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    first = date(local.year + local.month // 12, local.month % 12 + 1, 1)
    return datetime.combine(first, datetime.min.time(), tzinfo=zone)


def keep_requirement(*, account: Account, now: datetime, tiers: list[Tier] | None = None) -> tuple[int, date] | None:
    """(points still to earn, last day to earn them) to keep the current tier at the next recalculation.

    At the recalculation the window will have moved on: points earned before its new start
    no longer count. None when the member keeps the tier anyway (or is in the entry tier).
    """
    tiers = tiers or ladder()
    if not account.tier_id or account.tier.rank == tiers[0].rank:
        return None
    at = next_recalculation(now)
    months = policy().window_months
    counted_then = qualifying_points(account_id=account.pk, now=now, since=window_start(at, months))
    needed = account.tier.threshold - counted_then
    if needed <= 0:
        return None
    return needed, (at - timedelta(days=1)).date()


def tiers_warn_downgrades(*, now: datetime | None = None) -> int:
    """Warn members who would drop a tier at the next recalculation, once per cycle.

    Runs daily; acts only inside the policy's warning window before the recalculation.
    Returns the number of members warned.
    """
    now = now or timezone.now()
    at = next_recalculation(now)
    if at - now > timedelta(days=policy().warn_days_before):
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
