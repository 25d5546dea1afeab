"""Balances, lots and refunds of the ledger, as members and other apps read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from points import rules
from points.enums import EntryKind, HoldStatus, LotStatus
from points.models import Account, Entry, Hold, Lot
from pointsmall.kernel import clock
from pointsmall.kernel.language import pick_language

EXPIRING_SOON_DAYS = 30


@dataclass(frozen=True)
class ExpiringPoints:
    expires_on: date
    points: int


@dataclass(frozen=True)
class BalanceSummary:
    """A member's points as pages and the host API show them. ``available``: what they can spend
    now (balance less points expired but not swept yet, less ``held``, never below 0); ``held``:
    points reserved by host checkout holds that have not run out (one past its ``expires_at``
    counts as expired even before the sweep ends it); ``expiring_soon``: available points that expire
    within ``within_days`` days, per day in ``expiring``."""

    available: int
    pending: int
    held: int
    owed: int
    lifetime_earned: int
    lifetime_spent: int
    lifetime_expired: int
    expiring_soon: int
    expiring: list[ExpiringPoints]
    next_pending_at: datetime | None
    within_days: int = EXPIRING_SOON_DAYS
    tier_code: str | None = None
    tier_name: str | None = None

    @property
    def next_expiry(self) -> ExpiringPoints | None:
        return self.expiring[0] if self.expiring else None

    @property
    def expiring_soon_points(self) -> int:
        return self.expiring_soon

    @property
    def expiring_by(self) -> date | None:
        """The last day the first of the expiring-soon points can be spent, None when none expire soon."""
        return self.expiring[0].expires_on if self.expiring else None


def _overdue_points(now: datetime | None = None) -> Subquery:
    """Points of the account's lots that expired but the nightly sweep has not reached yet.

    They are no longer spendable (every spend settles them first), so pages must not show them.
    """
    return Subquery(
        Lot.objects.filter(
            account=OuterRef("pk"), status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__lte=now or timezone.now()
        )
        .values("account")
        .annotate(total=Sum("remaining"))
        .values("total")[:1]
    )


def _overdue_held(now: datetime | None = None) -> Subquery:
    """Points of the account's holds that ran out (``expires_at`` ≤ now) but no writer or sweep
    has ended yet. They are expired already (every writer's settle ends them first, and a
    capture is refused), so no read may count them as held."""
    return Subquery(
        Hold.objects.filter(account=OuterRef("pk"), status=HoldStatus.ACTIVE, expires_at__lte=now or timezone.now())
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")[:1]
    )


def _spendable(accounts, now: datetime | None = None):
    """Annotate ``held_now``: the points active, unexpired host checkout holds reserve
    (docs/decisions/0033), and ``spendable``: the balance less overdue lots and less
    ``held_now``, never below 0 (expiry can take the balance under ``held`` until the hold is
    captured or released). Both read the effective state at ``now`` without writing."""
    now = now or timezone.now()
    return accounts.annotate(held_now=F("held") - Coalesce(_overdue_held(now), 0)).annotate(
        spendable=Greatest(F("balance") - Coalesce(_overdue_points(now), 0) - F("held_now"), Value(0))
    )


def spendable_balance(*, user_id: int) -> int | None:
    """The points the member can spend now (the balance less lots expired but not swept yet, less
    points held for a host checkout), or None without an account: one indexed query. Every page
    and check of "can the member afford this" reads it (catalog quotes, product pages, lottery)."""
    return _spendable(Account.objects.filter(user_id=user_id)).values_list("spendable", flat=True).first()


def balance_summary(
    *,
    user_id: int,
    now: datetime | None = None,
    within_days: int = EXPIRING_SOON_DAYS,
    tier: tuple[str, str] | object | None = ...,
) -> BalanceSummary | None:
    """The member's balance (see BalanceSummary) at ``now`` (default: the clock), or None without
    an account. ``tier_code``/``tier_name``: the tier enjoyed now (a running trial counts); a page
    that already read it for this request (``member_status``) passes it as ``tier``, a
    ``(code, name)`` pair or None, and saves two queries."""
    from points.selectors.tiers import effective_tier  # tiers imports this module

    now = now or timezone.now()
    days = within_days
    account = _spendable(Account.objects.filter(user_id=user_id), now).first()
    if account is None:
        return None
    zone = clock.business_zone()
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
    if tier is ...:
        enjoyed = effective_tier(account, now)
        tier = (enjoyed.code, pick_language(zh=enjoyed.name_zh, en=enjoyed.name_en)) if enjoyed else None
    tier = cast("tuple[str, str] | None", tier)
    return BalanceSummary(
        available=account.spendable,
        pending=account.pending,
        held=account.held_now,
        owed=account.debt,
        lifetime_earned=account.lifetime_earned,
        lifetime_spent=account.lifetime_spent,
        lifetime_expired=account.lifetime_expired,
        expiring_soon=sum(e.points for e in expiring),
        expiring=expiring,
        next_pending_at=next_pending,
        within_days=within_days,
        tier_code=tier[0] if tier else None,
        tier_name=tier[1] if tier else None,
    )


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
    zone = clock.business_zone()
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


def forfeitable_points(*, user_id: int, now: datetime | None = None) -> int:
    """The points deleting the account would forfeit at ``now``: spendable, held by host checkout
    holds and pending (``points.services.points_forfeit`` takes all three). 0 without an account."""
    summary = balance_summary(user_id=user_id, now=now, tier=None)
    if summary is None:
        return 0
    return summary.available + summary.held + summary.pending
