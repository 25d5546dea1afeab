"""Reads of the ledger. Other apps get small frozen dataclasses, never models."""

from __future__ import annotations

from dataclasses import dataclass, field
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

from points import features, notices, rules
from points.enums import EarningSource, EntryKind, HistoryFilter, LotStatus
from points.models import Account, Entry, IdentityClaim, Lot, Tier, TierGrant

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
    # A pending earning taken back before it became spendable (e.g. its purchase was refunded).
    cancelled: bool = False

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


def _own_text(entry: Entry) -> str:
    """The entry's stored text in the active language: its message code rendered, else its free text."""
    if entry.memo_code:
        text = notices.render(entry.memo_code, entry.memo_params)
        if text is not None:
            return text.title
    return entry.memo


def _subject(entry: Entry | None) -> str:
    """What an entry was about, to name it in a refund or reversal of it ("" if it says nothing)."""
    if entry is None:
        return ""
    return _own_text(entry) or (str(EarningSource(entry.source).label) if entry.source else "")


def entry_description(entry: Entry) -> str:
    """The history line of an entry in the active language (uses ``entry.related_entry``: select it).

    Coded texts are complete sentences; only entries without one get a kind's wording around
    what they relate to, so a text is never wrapped twice ("Refunded: Refunded: …").
    """
    if entry.kind == EntryKind.EXPIRE:
        return _("Points expired")
    if entry.kind == EntryKind.DEBT_REPAY:
        return _("Repaid points owed from an earlier reversal")
    if entry.kind == EntryKind.ADJUST:
        # The operator's own words, shown as written.
        return _("Adjusted by the mall: %(reason)s") % {"reason": entry.memo}
    own = _own_text(entry)
    if entry.kind == EntryKind.VEST:
        return _("Now available: %(what)s") % {"what": own or _("pending points")}
    if entry.kind in (EntryKind.REFUND, EntryKind.REVERSE) and not own:
        what = _subject(entry.related_entry) if entry.related_entry_id else ""
        if entry.kind == EntryKind.REFUND:
            return _("Refunded: %(what)s") % {"what": what} if what else _("Points refunded")
        return _("Taken back: %(what)s") % {"what": what} if what else _("Points taken back")
    if own:
        return own
    return str(EarningSource(entry.source).label if entry.source else EntryKind(entry.kind).label)


def _history_row(entry: Entry, lot_status: str, available_at: datetime | None) -> HistoryRow:
    return HistoryRow(
        id=entry.pk,
        kind=entry.kind,
        kind_label=str(EntryKind(entry.kind).label),
        amount=entry.amount,
        pending_amount=entry.pending_amount,
        balance_after=entry.balance_after,
        created_at=entry.created_at,
        description=entry_description(entry),
        is_pending_credit=lot_status == LotStatus.PENDING,
        # A pending earning cancelled before it vested never became available: no "available since".
        available_at=None if lot_status == LotStatus.CANCELLED else available_at,
        cancelled=lot_status == LotStatus.CANCELLED,
    )


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
    paginator = Paginator(entries.select_related("related_entry").order_by("-id"), per_page)
    result = paginator.get_page(page)
    pending_earns = [e.pk for e in result.object_list if e.pending_amount > 0 and e.kind != EntryKind.VEST]
    lot_state = {
        entry_id: (status, available_at)
        for entry_id, status, available_at in Lot.objects.filter(entry_id__in=pending_earns).values_list(
            "entry_id", "status", "available_at"
        )
    }
    result.object_list = [_history_row(e, *lot_state.get(e.pk, ("", None))) for e in result.object_list]
    return result


@dataclass(frozen=True)
class RefundOutcome:
    """What the refunds of one spend gave back: ``refunded`` points, of which ``expired`` landed in
    lots that had expired meanwhile and expired at once (docs/decisions/0005)."""

    refunded: int
    expired: int

    @property
    def spendable(self) -> int:
        return self.refunded - self.expired


def refund_outcome(*, user_id: int, spend_entry_id: int) -> RefundOutcome:
    """The points the refunds of a member's spend really gave back, so a message can state them."""
    refunds = Entry.objects.filter(
        account__user_id=user_id, kind=EntryKind.REFUND, related_entry_id=spend_entry_id
    ).values("pk")
    refunded = Entry.objects.filter(pk__in=refunds).aggregate(total=Sum("amount"))["total"] or 0
    lapsed = Entry.objects.filter(kind=EntryKind.EXPIRE, related_entry__in=refunds).aggregate(total=Sum("amount"))
    return RefundOutcome(refunded=refunded, expired=-(lapsed["total"] or 0))


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


def tier_names() -> dict[str, dict]:
    """Each tier's name in both languages by code (``points.notices.bilingual``), for stored texts."""
    return {
        code: notices.bilingual(zh=name_zh, en=name_en)
        for code, name_zh, name_en in Tier.objects.values_list("code", "name_zh", "name_en")
    }


def tier_ladder() -> list[TierView]:
    return [_tier_view(t) for t in Tier.objects.order_by("rank")]


def member_tier(*, user_id: int) -> TierView | None:
    """The tier whose benefits the member enjoys now: the earned one (the entry tier when none
    is set) or a higher tier trial running now (docs/decisions/0020). Two queries."""
    from points.services import tiers as tier_service

    account = Account.objects.filter(user_id=user_id).select_related("tier").first()
    if account is None:
        return None
    tier = tier_service.effective_tier(account)
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
    english = (get_language() or "").startswith("en")
    return balance, (name_en if english else name_zh) or ""


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
    enjoyed = tier_service.effective_tier(account, now) or current
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
        enjoyed=_tier_view(enjoyed),
        trials=tier_trials(user_id=user_id),
        free_draws=features.feature_live(features.LOTTERY),
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
    free_draws: bool = False  # the lottery exists, so tiers' free draws mean something


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
            # Only what members can earn today: no rule of a feature that isn't built yet.
            if r.points > 0 and features.source_live(r.source)
        ],
        points_per_yuan=purchase.points_per_yuan,
        pending_days=purchase.pending_days,
        excluded=[r.key for r in rates if r.excluded],
        special_rates=[(r.key, r.points_per_yuan) for r in rates if not r.excluded],
        tiers=tier_ladder(),
        tier_window_months=tier_policy.window_months,
        campaigns=_live_campaigns(Campaign.objects.filter(active=True, ends_at__gt=now).order_by("starts_at")),
        expiry=expiry_policy_text(),
        free_draws=features.feature_live(features.LOTTERY),
    )


def _live_campaigns(campaigns) -> list[CampaignView]:
    """Campaigns as members may read them: only sources that exist today are named, and a
    campaign for nothing but features still to come is not shown at all."""
    views = []
    for c in campaigns:
        # source_codes never fails on a stored value; frozenset() names nothing known: never announced.
        sources = _campaign_sources(c)
        if c.source_codes == frozenset():
            continue
        live = [source for source in sources if features.source_live(source)]
        if sources and not live:
            continue
        name = notices.localized(notices.bilingual(zh=c.name, en=c.name_en))
        views.append(CampaignView(name, c.multiplier, c.starts_at, c.ends_at, live))
    return views


def identity_known_elsewhere(*, user_id: int, identities: list[str]) -> bool:
    """Whether another account (or a deleted one) already holds one of ``identities`` as a
    person: it claimed the sign-up bonus with it. ``identities`` as for ``signup_bonus_grant``
    (``email:<mailbox>``, ``phone:<number>``, already normalised by accounts). Reads only."""
    from points.services.earning import identity_hash  # one keyed hash for every claim

    hashes = {identity_hash(i) for i in identities if i and i.split(":", 1)[-1].strip()}
    if not hashes:
        return False
    claims = IdentityClaim.objects.filter(reward=EarningSource.SIGNUP, identity_hash__in=hashes)
    return claims.exclude(account__user_id=user_id).exists()
