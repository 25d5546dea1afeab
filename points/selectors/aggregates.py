"""Mall-wide figures of the ledger for the operators' dashboard (docs/decisions/0031): points
issued, spent and expired per business day, who had an entry on a day, the outstanding points and
their expiry by month, lifetime totals and the members earning unusually fast today.

Each function is one aggregate query. Days are business days (``pointsmall.kernel.clock``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from points.enums import EntryKind, LotStatus
from points.models import Account, Entry, Lot
from points.policies import point_value_policy
from pointsmall.kernel import clock


def point_value_yuan() -> Decimal:
    """What one point is worth in yuan (the point value policy; 0.01 = 100 points are 1 yuan).
    The lottery's top-prize cap and report and the dashboard's liability read it here (one query)."""
    return point_value_policy().yuan_per_point


def _window(first: date, last: date) -> Q:
    return Q(
        created_at__gte=clock.business_day_start(first),
        created_at__lt=clock.business_day_start(last + timedelta(days=1)),
    )


@dataclass(frozen=True)
class PointsDay:
    """Points issued (earned, pending included), spent (gross of refunds) and expired on one day."""

    issued: int = 0
    spent: int = 0
    expired: int = 0


def points_by_day(*, first: date, last: date) -> dict[date, PointsDay]:
    """Issued = Σ (available + pending) points of earn entries; spent = −Σ spend entries; expired =
    −Σ expire entries; per business day from ``first`` to ``last`` (days without any: absent)."""
    rows = (
        Entry.objects.filter(_window(first, last), kind__in=[EntryKind.EARN, EntryKind.SPEND, EntryKind.EXPIRE])
        .annotate(day=TruncDate("created_at", tzinfo=clock.business_zone()))
        .values("day")
        .annotate(
            issued=Coalesce(Sum(F("amount") + F("pending_amount"), filter=Q(kind=EntryKind.EARN)), 0),
            spent=Coalesce(-Sum("amount", filter=Q(kind=EntryKind.SPEND)), 0),
            expired=Coalesce(-Sum("amount", filter=Q(kind=EntryKind.EXPIRE)), 0),
        )
        .order_by("day")
    )
    return {r["day"]: PointsDay(issued=r["issued"], spent=r["spent"], expired=r["expired"]) for r in rows}


def ledger_members_by_day(*, first: date, last: date) -> dict[date, set[int]]:
    """The user ids with any ledger entry on each business day (for "active members")."""
    result: dict[date, set[int]] = defaultdict(set)
    rows = (
        Entry.objects.filter(_window(first, last))
        .annotate(day=TruncDate("created_at", tzinfo=clock.business_zone()))
        .values_list("day", "account__user_id")
        .distinct()
    )
    for day, user_id in rows:
        result[day].add(user_id)
    return dict(result)


@dataclass(frozen=True)
class Liability:
    """What the mall owes members now: available and pending points, and what members owe back."""

    available: int
    pending: int
    owed: int
    lifetime_issued: int
    lifetime_spent: int
    lifetime_expired: int


def points_liability() -> Liability:
    """Σ of every account's balance, pending points, debt and lifetime totals (one query)."""
    sums = Account.objects.aggregate(
        available=Coalesce(Sum("balance"), 0),
        pending=Coalesce(Sum("pending"), 0),
        owed=Coalesce(Sum("debt"), 0),
        lifetime_issued=Coalesce(Sum("lifetime_earned"), 0),
        lifetime_spent=Coalesce(Sum("lifetime_spent"), 0),
        lifetime_expired=Coalesce(Sum("lifetime_expired"), 0),
    )
    return Liability(**sums)


def expiry_forecast(*, today: date, months: int = 12) -> list[tuple[date, int]]:
    """Points that will expire in each of the next ``months`` business months (this one first):
    Σ remaining of the available and pending lots by the month of ``expires_at``, every month
    listed (0 when none). Lots that never expire are not in it; lots already past expiry but not
    yet swept by ``points.expire`` count in this month (one query)."""
    start = today.replace(day=1)
    month_starts = [start]
    for _ in range(months - 1):
        nxt = month_starts[-1] + timedelta(days=32)
        month_starts.append(nxt.replace(day=1))
    end = (month_starts[-1] + timedelta(days=32)).replace(day=1)
    rows = (
        Lot.objects.filter(
            status__in=[LotStatus.AVAILABLE, LotStatus.PENDING],
            remaining__gt=0,
            expires_at__isnull=False,
            expires_at__lt=clock.business_day_start(end),
        )
        .annotate(month=TruncMonth("expires_at", tzinfo=clock.business_zone()))
        .values("month")
        .annotate(points=Sum("remaining"))
    )
    by_month: dict[date, int] = defaultdict(int)
    for r in rows:
        month = r["month"].date() if hasattr(r["month"], "date") else r["month"]
        by_month[max(month, start)] += r["points"]
    return [(m, by_month.get(m, 0)) for m in month_starts]


@dataclass(frozen=True)
class FastEarner:
    user_id: int
    points: int
    entries: int


def fast_earners(*, day: date, points_over: int, limit: int = 20) -> list[FastEarner]:
    """Members who earned more than ``points_over`` points (available + pending) on ``day``, most
    first (one aggregate query)."""
    rows = (
        Entry.objects.filter(_window(day, day), kind=EntryKind.EARN)
        .values("account__user_id")
        .annotate(points=Sum(F("amount") + F("pending_amount")), entries=Count("pk"))
        .filter(points__gt=points_over)
        .order_by("-points", "account__user_id")[:limit]
    )
    return [FastEarner(user_id=r["account__user_id"], points=r["points"], entries=r["entries"]) for r in rows]
