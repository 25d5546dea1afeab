"""Reads of the ledger. Other apps get small frozen dataclasses, never models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from points import rules
from points.enums import EarningSource, EntryKind, HistoryFilter, LotStatus
from points.models import Account, Entry, Lot, Tier

EXPIRING_SOON_DAYS = 30


@dataclass(frozen=True)
class ExpiringPoints:
    expires_on: date
    points: int


@dataclass(frozen=True)
class BalanceSummary:
    available: int
    pending: int
    owed: int
    lifetime_earned: int
    lifetime_spent: int
    lifetime_expired: int
    expiring_soon: int
    expiring: list[ExpiringPoints]
    next_pending_at: datetime | None

    @property
    def next_expiry(self) -> ExpiringPoints | None:
        return self.expiring[0] if self.expiring else None


@dataclass(frozen=True)
class HistoryRow:
    id: int
    kind: str
    kind_label: str
    amount: int
    pending_amount: int
    balance_after: int
    created_at: datetime
    description: str
    is_pending_credit: bool
    # For earnings that arrived pending: when they became (or become) spendable.
    available_at: datetime | None = None

    @property
    def shown_amount(self) -> int:
        """The points this row added or took, whether they are pending or not."""
        return self.amount + self.pending_amount

    @property
    def arrived_later(self) -> bool:
        return self.available_at is not None and not self.is_pending_credit


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _overdue_points() -> Subquery:
    """Points of the account's lots that expired but the nightly sweep has not reached yet.

    They are no longer spendable (every spend settles them first), so pages must not show them.
    """
    return Subquery(
        Lot.objects.filter(
            account=OuterRef("pk"), status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__lte=timezone.now()
        )
        .values("account")
        .annotate(total=Sum("remaining"))
        .values("total")[:1]
    )


def _spendable(accounts):
    return accounts.annotate(spendable=F("balance") - Coalesce(_overdue_points(), 0))


def header_balance(*, user_id: int) -> int | None:
    """The spendable balance for the page header: one indexed query."""
    return _spendable(Account.objects.filter(user_id=user_id)).values_list("spendable", flat=True).first()


def balance_summary(*, user_id: int, days: int = EXPIRING_SOON_DAYS) -> BalanceSummary | None:
    account = _spendable(Account.objects.filter(user_id=user_id)).first()
    if account is None:
        return None
    now = timezone.now()
    zone = _zone()
    rows = (
        Lot.objects.filter(
            account=account,
            status=LotStatus.AVAILABLE,
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        )
        .values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")
    )
    per_day: dict[date, int] = {}
    for row in rows:
        day = rules.last_valid_day(row["expires_at"], zone)
        per_day[day] = per_day.get(day, 0) + row["points"]
    expiring = [ExpiringPoints(day, points) for day, points in sorted(per_day.items())]
    next_pending = (
        Lot.objects.filter(account=account, status=LotStatus.PENDING, remaining__gt=0)
        .order_by("available_at")
        .values_list("available_at", flat=True)
        .first()
    )
    return BalanceSummary(
        available=account.spendable,
        pending=account.pending,
        owed=account.debt,
        lifetime_earned=account.lifetime_earned,
        lifetime_spent=account.lifetime_spent,
        lifetime_expired=account.lifetime_expired,
        expiring_soon=sum(e.points for e in expiring),
        expiring=expiring,
        next_pending_at=next_pending,
    )


_FILTERS = {
    HistoryFilter.ALL: Q(),
    HistoryFilter.EARNED: Q(kind=EntryKind.EARN) | Q(kind=EntryKind.ADJUST, amount__gt=0),
    HistoryFilter.SPENT: Q(kind__in=[EntryKind.SPEND, EntryKind.REFUND]),
    HistoryFilter.EXPIRED: Q(kind=EntryKind.EXPIRE),
}


def _describe(entry: Entry) -> str:
    if entry.kind == EntryKind.EXPIRE:
        return _("Points expired")
    if entry.kind == EntryKind.VEST:
        return _("Now available: %(what)s") % {"what": entry.memo or _("pending points")}
    if entry.kind == EntryKind.DEBT_REPAY:
        return _("Repaid points owed from an earlier reversal")
    if entry.kind == EntryKind.ADJUST:
        return _("Adjusted by the mall: %(reason)s") % {"reason": entry.memo}
    if entry.kind == EntryKind.REFUND:
        return _("Refunded: %(what)s") % {"what": entry.memo} if entry.memo else _("Points refunded")
    if entry.kind == EntryKind.REVERSE:
        return _("Taken back: %(what)s") % {"what": entry.memo} if entry.memo else _("Points taken back")
    if entry.memo:
        return entry.memo
    return EarningSource(entry.source).label if entry.source else EntryKind(entry.kind).label


def history(
    *,
    user_id: int,
    kind: str = HistoryFilter.ALL,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """A page of the member's entries, newest first, as HistoryRow objects.

    One row per earning: an earning that arrived pending shows its current state (pending
    until / available since) instead of a second "became available" row; the vest entries
    stay in the ledger and in the admin.
    """
    entries = (
        Entry.objects.filter(account__user_id=user_id)
        .exclude(kind=EntryKind.VEST)
        .filter(_FILTERS[HistoryFilter(kind)])
    )
    zone = _zone()
    if date_from:
        entries = entries.filter(created_at__gte=datetime.combine(date_from, datetime.min.time(), tzinfo=zone))
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        entries = entries.filter(created_at__lt=end)
    paginator = Paginator(entries.order_by("-id"), per_page)
    result = paginator.get_page(page)
    pending_earns = [e.pk for e in result.object_list if e.pending_amount > 0 and e.kind != EntryKind.VEST]
    lot_state = {
        entry_id: (status, available_at)
        for entry_id, status, available_at in Lot.objects.filter(entry_id__in=pending_earns).values_list(
            "entry_id", "status", "available_at"
        )
    }
    result.object_list = [
        HistoryRow(
            id=e.pk,
            kind=e.kind,
            kind_label=str(EntryKind(e.kind).label),
            amount=e.amount,
            pending_amount=e.pending_amount,
            balance_after=e.balance_after,
            created_at=e.created_at,
            description=_describe(e),
            is_pending_credit=lot_state.get(e.pk, ("",))[0] == LotStatus.PENDING,
            available_at=lot_state[e.pk][1] if e.pk in lot_state else None,
        )
        for e in result.object_list
    ]
    return result


@dataclass(frozen=True)
class LotView:
    id: int
    amount: int
    remaining: int
    status: str
    earned_at: datetime
    available_at: datetime
    expires_on: date | None


def lots(*, user_id: int, include_empty: bool = False) -> list[LotView]:
    """The member's lots, soonest expiry first."""
    zone = _zone()
    qs = Lot.objects.filter(account__user_id=user_id).exclude(status=LotStatus.CANCELLED)
    if not include_empty:
        qs = qs.filter(remaining__gt=0)
    return [
        LotView(
            id=lot.pk,
            amount=lot.amount,
            remaining=lot.remaining,
            status=lot.status,
            earned_at=lot.earned_at,
            available_at=lot.available_at,
            expires_on=rules.last_valid_day(lot.expires_at, zone) if lot.expires_at else None,
        )
        # Lots that never expire come last on every database (SQLite sorts NULL first).
        for lot in qs.order_by(F("expires_at").asc(nulls_last=True), "pk")
    ]


def expiry_policy_text() -> dict:
    """The live expiry rule, for the rules page."""
    from points.models import ExpiryPolicy

    policy = ExpiryPolicy.objects.filter(pk=1).first() or ExpiryPolicy()
    return {
        "mode": policy.mode,
        "months": policy.months,
        "rounding": policy.rounding,
        "reminder_days": policy.reminder_days,
    }


# --- Tiers and the live rules ------------------------------------------------------------


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
    current: TierView
    next: TierView | None
    qualifying_points: int
    to_next: int
    progress_percent: int
    keep_needed: int
    keep_deadline: date | None
    window_months: int
    ladder: list[TierView]


def _tier_view(tier: Tier) -> TierView:
    english = (get_language() or "").startswith("en")
    return TierView(
        code=tier.code,
        name=tier.name_en if english else tier.name_zh,
        rank=tier.rank,
        threshold=tier.threshold,
        price_percent=tier.price_percent,
        earn_multiplier=tier.earn_multiplier,
        monthly_free_draws=tier.monthly_free_draws,
    )


def tier_ladder() -> list[TierView]:
    return [_tier_view(t) for t in Tier.objects.order_by("rank")]


def member_tier(*, user_id: int) -> TierView | None:
    """The member's tier (the entry tier when none is set); one query."""
    account = Account.objects.filter(user_id=user_id).select_related("tier").first()
    if account is None:
        return None
    tier = account.tier or Tier.objects.order_by("rank").first()
    return _tier_view(tier) if tier else None


def header_status(*, user_id: int) -> tuple[int, str] | None:
    """(available balance, tier name) for the page header, in one query."""
    row = (
        _spendable(Account.objects.filter(user_id=user_id))
        .values_list("spendable", "tier__name_en", "tier__name_zh")
        .first()
    )
    if row is None:
        return None
    balance, name_en, name_zh = row
    english = (get_language() or "").startswith("en")
    return balance, (name_en if english else name_zh) or ""


def tier_status(*, user_id: int) -> TierStatus | None:
    from points.services import tiers as tier_service

    account = Account.objects.filter(user_id=user_id).select_related("tier").first()
    tiers = list(Tier.objects.order_by("rank"))
    if account is None or not tiers:
        return None
    now = timezone.now()
    current = account.tier or tiers[0]
    higher = [t for t in tiers if t.rank > current.rank]
    qualifying = tier_service.qualifying_points(account_id=account.pk, now=now)
    following = higher[0] if higher else None
    to_next = max(following.threshold - qualifying, 0) if following else 0
    if following:
        span = max(following.threshold - current.threshold, 1)
        progress = min(max((qualifying - current.threshold) * 100 // span, 0), 100)
    else:
        progress = 100
    keep = tier_service.keep_requirement(account=account, now=now, tiers=tiers)
    return TierStatus(
        current=_tier_view(current),
        next=_tier_view(following) if following else None,
        qualifying_points=qualifying,
        to_next=to_next,
        progress_percent=progress,
        keep_needed=keep[0] if keep else 0,
        keep_deadline=keep[1] if keep else None,
        window_months=tier_service.policy().window_months,
        ladder=[_tier_view(t) for t in tiers],
    )


@dataclass(frozen=True)
class EarningRuleView:
    source: str
    label: str
    points: int
    daily_cap: int | None
    weekly_cap: int | None
    monthly_cap: int | None
    multipliers: bool


@dataclass(frozen=True)
class CampaignView:
    name: str
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    sources: list[str]


@dataclass(frozen=True)
class LiveRules:
    earning: list[EarningRuleView]
    points_per_yuan: Decimal
    pending_days: int
    excluded: list[str]
    special_rates: list[tuple[str, Decimal]]
    tiers: list[TierView]
    tier_window_months: int
    campaigns: list[CampaignView]
    expiry: dict


def _campaign_sources(campaign) -> list[str]:
    """The campaign's source codes in the enum's order; empty means every source."""
    codes = campaign.source_codes or frozenset()
    return [code for code in EarningSource.values if code in codes]


def live_rules() -> LiveRules:
    """Everything the public rules page states, read from the operators' live settings."""
    from points.models import Campaign, EarningRule, PurchasePolicy, PurchaseRate, TierPolicy

    purchase = PurchasePolicy.objects.filter(pk=1).first() or PurchasePolicy()
    tier_policy = TierPolicy.objects.filter(pk=1).first() or TierPolicy()
    rates = list(PurchaseRate.objects.order_by("scope", "key"))
    now = timezone.now()
    return LiveRules(
        earning=[
            EarningRuleView(
                source=r.source,
                label=str(EarningSource(r.source).label),
                points=r.points,
                daily_cap=r.daily_cap,
                weekly_cap=r.weekly_cap,
                monthly_cap=r.monthly_cap,
                multipliers=r.apply_multipliers,
            )
            for r in EarningRule.objects.filter(active=True).order_by("source")
            if r.points > 0
        ],
        points_per_yuan=purchase.points_per_yuan,
        pending_days=purchase.pending_days,
        excluded=[r.key for r in rates if r.excluded],
        special_rates=[(r.key, r.points_per_yuan) for r in rates if not r.excluded],
        tiers=tier_ladder(),
        tier_window_months=tier_policy.window_months,
        campaigns=[
            CampaignView(c.name, c.multiplier, c.starts_at, c.ends_at, _campaign_sources(c))
            for c in Campaign.objects.filter(active=True, ends_at__gt=now).order_by("starts_at")
            # A campaign whose stored sources name nothing known gives nothing: never announce it.
            if c.source_codes != frozenset()
        ],
        expiry=expiry_policy_text(),
    )
