"""Tiers as members and the ledger's services read them.

Qualifying points are the points that became available from earning (earn and vest
entries) minus reversals of them, inside the policy's rolling window. Pending points do
not count until they vest; operator adjustments and refunds of spends never count.

The tier whose benefits apply is the higher of the earned tier and the tier trials running
now (``effective_tier``, docs/decisions/0020). The reads that return models
(``ladder``, ``effective_tier``, ``keep_requirement``…) are for the ledger's own services;
other apps get the frozen views (``TierView``, ``TierStatus``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import BigIntegerField, Case, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from points import features, notices, policies, rules
from points.enums import EntryKind
from points.models import Account, Entry, Tier, TierGrant
from points.selectors.balances import _spendable, spendable_balance
from pointsmall.kernel import clock
from pointsmall.kernel.language import pick_language

_QUALIFYING = Case(
    When(Q(kind__in=[EntryKind.EARN, EntryKind.VEST], amount__gt=0), then=F("amount")),
    When(kind=EntryKind.REVERSE, then=F("amount") - F("debt_change")),
    default=0,
    output_field=IntegerField(),
)


def ladder() -> list[Tier]:
    """Every tier, entry tier first (by rank)."""
    return list(Tier.objects.order_by("rank"))


def window_start(now: datetime, months: int) -> datetime:
    """The start of a qualifying window of ``months`` ending at ``now``."""
    return rules.add_months(now, -months)


def qualifying_points(*, account_id: int, now: datetime | None = None, since: datetime | None = None) -> int:
    """The account's qualifying points from ``since`` (default: the policy's window) to ``now`` (one query)."""
    now = now or timezone.now()
    since = since or window_start(now, policies.tier_policy().window_months)
    total = Entry.objects.filter(account_id=account_id, created_at__gte=since, created_at__lte=now).aggregate(
        total=Sum(_QUALIFYING)
    )["total"]
    return max(total or 0, 0)


def qualifying_by_account(since: datetime, now: datetime) -> dict[int, int]:
    """Every account's qualifying points between ``since`` and ``now``, by account id (one aggregate query)."""
    rows = (
        Entry.objects.filter(created_at__gte=since, created_at__lte=now)
        .values("account_id")
        .annotate(total=Sum(_QUALIFYING))
    )
    return {row["account_id"]: max(row["total"] or 0, 0) for row in rows}


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


def next_recalculation(now: datetime) -> datetime:
    """The next 1st of the month, 00:00 business time: when downgrades happen."""
    local = clock.business_date(now)
    return clock.business_day_start(date(local.year + local.month // 12, local.month % 12 + 1, 1))


def keep_requirement(*, account: Account, now: datetime, tiers: list[Tier] | None = None) -> tuple[int, date] | None:
    """(points still to earn, last day to earn them) to keep the current tier at the next recalculation.

    At the recalculation the window will have moved on: points earned before its new start
    no longer count. None when the member keeps the tier anyway (or is in the entry tier).
    """
    tiers = tiers or ladder()
    if not account.tier_id or account.tier.rank == tiers[0].rank:
        return None
    at = next_recalculation(now)
    months = policies.tier_policy().window_months
    counted_then = qualifying_points(account_id=account.pk, now=now, since=window_start(at, months))
    needed = account.tier.threshold - counted_then
    if needed <= 0:
        return None
    return needed, (at - timedelta(days=1)).date()


# --- Views for pages and other apps ----------------------------------------------------------


@dataclass(frozen=True)
class TierView:
    code: str
    name: str
    rank: int
    threshold: int
    price_percent: int
    earn_multiplier: Decimal
    monthly_free_draws: int


@dataclass(frozen=True)
class TierStatus:
    current: TierView  # the earned tier: what progress, keeping and the monthly review are about
    next: TierView | None
    qualifying_points: int
    to_next: int
    progress_percent: int
    keep_needed: int
    keep_deadline: date | None
    window_months: int
    ladder: list[TierView]
    # The tier whose benefits apply now: ``current`` or a higher tier trial, and the trials to come.
    enjoyed: TierView | None = None
    trials: list[TierTrialView] = field(default_factory=list)
    free_draws: bool = False  # the lottery exists, so tiers' free draws mean something

    @property
    def trial(self):
        """The running trial that lifts the member above their earned tier, if any."""
        if self.enjoyed is None or self.enjoyed.code == self.current.code:
            return None
        return next((t for t in self.trials if t.running and t.tier.code == self.enjoyed.code), None)


def _tier_view(tier: Tier) -> TierView:
    return TierView(
        code=tier.code,
        name=pick_language(zh=tier.name_zh, en=tier.name_en),
        rank=tier.rank,
        threshold=tier.threshold,
        price_percent=tier.price_percent,
        earn_multiplier=tier.earn_multiplier,
        monthly_free_draws=tier.monthly_free_draws,
    )


def tier_names() -> dict[str, dict]:
    """Each tier's name in both languages by code (``points.notices.bilingual``), for stored texts."""
    return {
        code: notices.bilingual(zh=name_zh, en=name_en)
        for code, name_zh, name_en in Tier.objects.values_list("code", "name_zh", "name_en")
    }


def tier_ladder() -> list[TierView]:
    return [_tier_view(t) for t in Tier.objects.order_by("rank")]


def tier_choices() -> list[tuple[str, str]]:
    """(code, name in the reader's language) for every tier, lowest first: the choices of a
    "which tiers" field and the names to show for stored tier codes."""
    return [(t.code, t.name or t.code) for t in tier_ladder()]


def member_tier(*, user_id: int) -> TierView | None:
    """The tier whose benefits the member enjoys now: the earned one (the entry tier when none
    is set) or a higher tier trial running now (docs/decisions/0020). Two queries."""
    account = Account.objects.filter(user_id=user_id).select_related("tier").first()
    if account is None:
        return None
    tier = effective_tier(account)
    return _tier_view(tier) if tier else None


def earned_tier(*, user_id: int) -> TierView | None:
    """The tier the member earned (the entry tier when none is set), ignoring tier trials."""
    account = Account.objects.filter(user_id=user_id).select_related("tier").first()
    if account is None:
        return None
    tier = account.tier or Tier.objects.order_by("rank").first()
    return _tier_view(tier) if tier else None


def _running_trials(now: datetime):
    return TierGrant.objects.filter(account=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now).order_by("-tier__rank")


def header_status(*, user_id: int) -> tuple[int, str] | None:
    """(available balance, name of the tier enjoyed now) for the page header, in one query."""
    trials = _running_trials(timezone.now())
    row = (
        _spendable(Account.objects.filter(user_id=user_id))
        .annotate(
            trial_rank=Subquery(trials.values("tier__rank")[:1]),
            trial_en=Subquery(trials.values("tier__name_en")[:1]),
            trial_zh=Subquery(trials.values("tier__name_zh")[:1]),
        )
        .values_list("spendable", "tier__rank", "tier__name_en", "tier__name_zh", "trial_rank", "trial_en", "trial_zh")
        .first()
    )
    if row is None:
        return None
    balance, rank, name_en, name_zh, trial_rank, trial_en, trial_zh = row
    if trial_rank is not None and (rank is None or trial_rank > rank):
        name_en, name_zh = trial_en, trial_zh
    return balance, pick_language(zh=name_zh, en=name_en) or ""


@dataclass(frozen=True)
class MemberStatus:
    """What every member page needs of the ledger: the spendable balance (points, an integer)
    and the tier enjoyed now (``member_tier``'s answer; None only when no tier exists)."""

    balance: int
    tier: TierView | None


def _member_status_query(user_id: int, now: datetime):
    """The effective tier's row (a running trial above the earned tier, else the earned tier,
    else the entry tier) with the account's spendable balance beside it."""
    trials = _running_trials(now)
    entry = Tier.objects.order_by("rank").values("pk")[:1]
    accounts = _spendable(Account.objects.filter(user_id=user_id), now)
    effective = accounts.annotate(
        trial_id=Subquery(trials.values("tier_id")[:1]),
        trial_rank=Subquery(trials.values("tier__rank")[:1]),
    ).annotate(
        effective=Case(
            When(trial_rank__gt=Coalesce(F("tier__rank"), Value(-1)), then=F("trial_id")),
            default=Coalesce(F("tier_id"), Subquery(entry)),
            output_field=BigIntegerField(),
        )
    )
    return (
        Tier.objects.filter(pk=Subquery(effective.values("effective")[:1]))
        .annotate(spendable=Subquery(accounts.values("spendable")[:1]))
        .values_list(*_STATUS_COLUMNS)[:1]
    )


_STATUS_COLUMNS = (
    "code",
    "name_zh",
    "name_en",
    "rank",
    "threshold",
    "price_percent",
    "earn_multiplier",
    "monthly_free_draws",
    "spendable",
)
# The query above takes the ORM ~10x longer to compile than the database to run, on every page.
# It is compiled once per process with stand-in values, which are then swapped for the real ones
# by position: a parameter equal to a stand-in is one (these values occur nowhere else).
_STAND_IN_USER = -7_319_900_001
_STAND_IN_NOW = datetime(2000, 2, 29, 0, 0, 7, 654_321, tzinfo=UTC)
_compiled: dict[str, tuple[str, tuple]] = {}


def member_status(*, user_id: int, now: datetime | None = None) -> MemberStatus | None:
    """The member's spendable balance and enjoyed tier (the same answers as ``spendable_balance``
    and ``member_tier``) in ONE query, or None without an account. Every member page's header
    and prices read it. A second query only when no tier exists at all."""
    now = now or timezone.now()
    vendor = connection.vendor
    if vendor not in _compiled:
        _compiled[vendor] = _member_status_query(_STAND_IN_USER, _STAND_IN_NOW).query.sql_with_params()
    sql, stand_in_params = _compiled[vendor]
    adapted_stand_in = connection.ops.adapt_datetimefield_value(_STAND_IN_NOW)
    adapted_now = connection.ops.adapt_datetimefield_value(now)
    params = [
        user_id if value == _STAND_IN_USER else adapted_now if value == adapted_stand_in else value
        for value in stand_in_params
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is not None:
        values = dict(zip(_STATUS_COLUMNS, row, strict=True))
        tier = TierView(
            code=values["code"],
            name=pick_language(zh=values["name_zh"], en=values["name_en"]),
            rank=values["rank"],
            threshold=values["threshold"],
            price_percent=values["price_percent"],
            earn_multiplier=Decimal(str(values["earn_multiplier"])),
            monthly_free_draws=values["monthly_free_draws"],
        )
        return MemberStatus(balance=int(values["spendable"]), tier=tier)
    balance = spendable_balance(user_id=user_id)
    return None if balance is None else MemberStatus(balance=balance, tier=None)


_REQUEST_STATUS = "_pointsmall_viewer_status"


def request_member_status(request) -> MemberStatus | None:
    """``member_status`` of the request's signed-in member, read once per request and kept on it
    (the header, the prices, the announcements and the page itself all ask); None for a visitor
    or a member without a points account. ``accounts.selectors.viewer_status`` is this."""
    if not hasattr(request, _REQUEST_STATUS):
        user = getattr(request, "user", None)
        status = None
        if user is not None and user.is_authenticated:
            status = member_status(user_id=user.pk)
        setattr(request, _REQUEST_STATUS, status)
    return getattr(request, _REQUEST_STATUS)


@dataclass(frozen=True)
class TierTrialView:
    tier: TierView
    starts_at: datetime
    ends_at: datetime

    @property
    def running(self) -> bool:
        return self.starts_at <= timezone.now() < self.ends_at


def tier_trials(*, user_id: int) -> list[TierTrialView]:
    """The member's tier trials running now or still to come, in the order they run."""
    grants = (
        TierGrant.objects.filter(account__user_id=user_id, ends_at__gt=timezone.now())
        .select_related("tier")
        .order_by("starts_at", "pk")
    )
    return [TierTrialView(_tier_view(g.tier), g.starts_at, g.ends_at) for g in grants]


def tier_status(*, user_id: int) -> TierStatus | None:
    account = Account.objects.filter(user_id=user_id).select_related("tier").first()
    tiers = list(Tier.objects.order_by("rank"))
    if account is None or not tiers:
        return None
    now = timezone.now()
    current = account.tier or tiers[0]
    higher = [t for t in tiers if t.rank > current.rank]
    qualifying = qualifying_points(account_id=account.pk, now=now)
    following = higher[0] if higher else None
    to_next = max(following.threshold - qualifying, 0) if following else 0
    if following:
        span = max(following.threshold - current.threshold, 1)
        progress = min(max((qualifying - current.threshold) * 100 // span, 0), 100)
    else:
        progress = 100
    keep = keep_requirement(account=account, now=now, tiers=tiers)
    enjoyed = effective_tier(account, now) or current
    return TierStatus(
        current=_tier_view(current),
        next=_tier_view(following) if following else None,
        qualifying_points=qualifying,
        to_next=to_next,
        progress_percent=progress,
        keep_needed=keep[0] if keep else 0,
        keep_deadline=keep[1] if keep else None,
        window_months=policies.tier_policy().window_months,
        ladder=[_tier_view(t) for t in tiers],
        enjoyed=_tier_view(enjoyed),
        trials=tier_trials(user_id=user_id),
        free_draws=features.feature_live(features.LOTTERY),
    )


def tier_member_ids(*, codes: list[str] | None = None, now: datetime | None = None) -> list[int]:
    """The user ids of active members whose enjoyed tier (``member_tier``: earned, entry tier
    when none is set, or a higher trial running at ``now``) is one of ``codes``; every active
    member's id when ``codes`` is None. For fan-outs (announcements to chosen tiers), so staff
    accounts (``is_staff``, superusers included) are never in it: they are not the audience,
    as the dashboard's sign-ups leave them out too. One query."""
    now = now or timezone.now()
    accounts = Account.objects.filter(user__is_active=True, user__is_staff=False, user__is_superuser=False)
    if codes is not None:
        tiers = ladder()
        if not tiers:
            return []
        wanted = [t.rank for t in tiers if t.code in set(codes)]
        trial_rank = Subquery(
            TierGrant.objects.filter(account_id=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now)
            .order_by("-tier__rank")
            .values("tier__rank")[:1]
        )
        earned_rank = Coalesce(F("tier__rank"), Value(tiers[0].rank))
        accounts = accounts.annotate(enjoyed_rank=Greatest(earned_rank, Coalesce(trial_rank, earned_rank))).filter(
            enjoyed_rank__in=wanted
        )
    return list(accounts.order_by("user_id").values_list("user_id", flat=True))
