"""Set-based ledger jobs: expire due lots, vest pending lots, remind before expiry.

Each batch is its own short transaction that locks a bounded set of accounts with
SKIP LOCKED: a member who is spending right now is skipped, not waited for (their own
spend settles their expiry inline), and a re-run finds nothing new to do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from points import locks, rules
from points.enums import LotStatus
from points.exceptions import FutureAsOfError
from points.models import Account, ExpiryPolicy, Lot
from points.services import _core
from points.signals import expiry_reminder_due


@dataclass(frozen=True)
class BatchReport:
    lots: int = 0
    points: int = 0
    members: int = 0
    batches: int = 0
    skipped_members: int = 0

    def plus(self, lots: int, points: int, members: int, skipped: int) -> BatchReport:
        return BatchReport(
            self.lots + lots,
            self.points + points,
            self.members + members,
            self.batches + 1,
            self.skipped_members + skipped,
        )


# One statement per batch, run after the batch's accounts are locked (a separate statement,
# so this one's snapshot sees everything committed before the locks were granted).
# Django's field defaults are not database defaults: the INSERT names every NOT NULL column
# of points_entry, and a new one must be added here (the Postgres expiry tests in
# tests/points/test_services.py fail when one is missing).
_EXPIRE_SQL = """
WITH due AS (
    SELECT l.id, l.account_id, l.remaining
    FROM points_lot l
    WHERE l.account_id = ANY(%(ids)s) AND l.status = 'available' AND l.remaining > 0
      AND l.expires_at <= %(as_of)s
),
per_account AS (
    SELECT account_id, SUM(remaining) AS total FROM due GROUP BY account_id
),
acc AS (
    UPDATE points_account a
    SET balance = a.balance - p.total, lifetime_expired = a.lifetime_expired + p.total, updated_at = %(now)s
    FROM per_account p WHERE a.id = p.account_id
    RETURNING a.id, a.balance, a.pending, p.total
),
ent AS (
    INSERT INTO points_entry (account_id, kind, amount, pending_amount, debt_change, balance_after,
                              pending_after, reference, memo_code, memo_params, memo, source, created_at)
    SELECT acc.id, 'expire', -acc.total, 0, 0, acc.balance, acc.pending, '', '', '{}'::jsonb, '', '', %(now)s
    FROM acc
    RETURNING id, account_id
),
mov AS (
    INSERT INTO points_lotmovement (entry_id, lot_id, amount)
    SELECT ent.id, due.id, -due.remaining FROM due JOIN ent ON ent.account_id = due.account_id
),
emptied AS (
    UPDATE points_lot l SET remaining = 0 FROM due WHERE l.id = due.id
)
SELECT (SELECT COUNT(*) FROM due), COALESCE((SELECT SUM(total) FROM per_account), 0),
       (SELECT COUNT(*) FROM per_account)
"""


def _due_accounts(as_of: datetime, after: int, limit: int) -> list[int]:
    return list(
        Lot.objects.filter(status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__lte=as_of, account_id__gt=after)
        .order_by("account_id")
        .values_list("account_id", flat=True)
        .distinct()[:limit]
    )


def _expire_batch_sql(account_ids: list[int], as_of: datetime) -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SQL, {"ids": account_ids, "as_of": as_of, "now": timezone.now()})
        lots, points, members = cursor.fetchone()
    return int(lots), int(points), int(members)


def points_expire_due(
    *,
    as_of: datetime | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    use_sql: bool | None = None,
    progress: Callable[[BatchReport], None] | None = None,
) -> BatchReport:
    """Expire every lot whose expiry is at or before ``as_of`` (default: now), in batches.

    Each batch locks up to ``batch_size`` accounts (pk order, SKIP LOCKED) and expires
    their due lots in one SQL statement on Postgres (``use_sql``), or in a fixed number
    of ORM queries elsewhere. Safe to run twice and on several workers at once.
    """
    now = timezone.now()
    as_of = as_of or now
    if as_of > now:
        raise FutureAsOfError()
    if dry_run:
        due = Lot.objects.filter(status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__lte=as_of).aggregate(
            lots=Count("pk"), points=Sum("remaining"), members=Count("account_id", distinct=True)
        )
        return BatchReport(due["lots"], due["points"] or 0, due["members"], 0, 0)
    if use_sql is None:
        use_sql = connection.vendor == "postgresql"
    report = BatchReport()
    after = 0
    while candidates := _due_accounts(as_of, after, batch_size):
        after = candidates[-1]
        with transaction.atomic():
            locked = locks.accounts_for_update_skip_locked(account_ids=candidates)
            if use_sql:
                lots, points, members = _expire_batch_sql(locked, as_of)
            else:
                lots, points, members = _core.expire_accounts(locked, as_of)
        report = report.plus(lots, points, members, len(candidates) - len(locked))
        if progress:
            progress(report)
    return report


def points_vest_due(*, now: datetime | None = None, batch_size: int = 500) -> BatchReport:
    """Make pending points spendable once their returns window is over. Safe to run twice."""
    if now is not None and now > timezone.now():
        raise FutureAsOfError()
    now = now or timezone.now()
    report = BatchReport()
    after = 0
    while True:
        candidates = list(
            Lot.objects.filter(status=LotStatus.PENDING, available_at__lte=now, remaining__gt=0, account_id__gt=after)
            .order_by("account_id")
            .values_list("account_id", flat=True)
            .distinct()[:batch_size]
        )
        if not candidates:
            return report
        after = candidates[-1]
        points = 0
        with transaction.atomic():
            locked = locks.accounts_for_update_skip_locked(account_ids=candidates)
            for account in Account.objects.filter(pk__in=locked).order_by("pk"):
                # settle() vests, then pays any debt from the newly vested points.
                before = account.pending
                _core.settle(account, now)
                points = points + before - account.pending
        report = report.plus(0, points, len(locked), len(candidates) - len(locked))


def points_send_expiry_reminders(*, now: datetime | None = None, days: int | None = None) -> int:
    """Tell each member, once per lot, which points expire within ``days``: one message per
    member and run, with the points that expire on each day (never one sum under the first day).

    Each day's figure is every spendable point that expires that day (also from lots reminded
    before), so the message states what will happen. Lots are marked reminded in the same
    transaction as the notice, so a re-run or a second worker sends nothing twice; the notice's
    key is the first lot it is the first reminder for. Returns the number of members told.
    """
    now = now or timezone.now()
    if days is None:
        policy = ExpiryPolicy.objects.filter(pk=1).first()
        days = policy.reminder_days if policy else 30
    horizon = now + timedelta(days=days)
    zone = ZoneInfo(settings.TIME_ZONE)
    told = 0
    with transaction.atomic():
        due = (
            Lot.objects.select_for_update(skip_locked=True)
            .filter(
                status=LotStatus.AVAILABLE,
                remaining__gt=0,
                reminded_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=horizon,
            )
            .values_list("pk", flat=True)
        )
        lot_ids = list(due)
        # Per account: the days its newly reminded lots expire on, and the first of those lots.
        reminded: dict[int, tuple[set, int]] = {}
        for lot_id, account_id, expires_at in (
            Lot.objects.filter(pk__in=lot_ids).order_by("pk").values_list("pk", "account_id", "expires_at")
        ):
            day_set, _first = reminded.setdefault(account_id, (set(), lot_id))
            day_set.add(rules.last_valid_day(expires_at, zone))
        expiring = (
            Lot.objects.filter(account_id__in=reminded, status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__gt=now)
            .values("account_id", "account__user_id", "expires_at")
            .annotate(points=Sum("remaining"))
        )
        per_day: dict[int, dict] = defaultdict(lambda: defaultdict(int))
        user_of: dict[int, int] = {}
        for row in expiring:
            when = rules.last_valid_day(row["expires_at"], zone)
            if when in reminded[row["account_id"]][0]:
                per_day[row["account_id"]][when] += row["points"]
                user_of[row["account_id"]] = row["account__user_id"]
        for account_id in sorted(per_day, key=lambda a: user_of[a]):
            dates = sorted(per_day[account_id].items())
            expiry_reminder_due.send(
                sender=Lot,
                user_id=user_of[account_id],
                points=sum(points for _day, points in dates),
                expires_on=dates[0][0],
                dates=dates,
                reminder_id=reminded[account_id][1],
            )
            told += 1
        Lot.objects.filter(pk__in=lot_ids).update(reminded_at=now)
    return told
