"""Expiry, in one place: when a lot's points expire, expiring what is due, and the reminders.

The rule itself is pure (``points.rules.expiry_for``/``last_valid_day``); this module reads the
operators' policy (``points.policies.expiry_policy``) and the business time zone
(``pointsmall.kernel.clock``) and applies the rule to the ledger:

- ``lot_expiry``: the instant a new lot earned now expires (every earn and positive adjust);
- ``expire_accounts``: expire the due lots of locked accounts (every operation settles its
  account with it first, so expired points are never spendable, swept or not);
- ``points_expire``: the nightly sweep over every account, in short SKIP LOCKED batches;
- ``points_remind``: tell members, once per lot, what expires within the reminder window, in
  short SKIP LOCKED batches like the sweep.

A refund landing in a lot that expired meanwhile expires at once (``points_refund``,
docs/decisions/0005); refunds keep the original expiry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, Count, F, Sum, Value, When
from django.utils import timezone

from points import locks, policies, rules
from points.enums import EntryKind, LotStatus
from points.exceptions import FutureAsOfError
from points.models import Account, Entry, Lot, LotMovement
from points.services.entry_log import EntryLine, entries_logged
from points.services.reports import BatchReport
from points.signals import expiry_reminder_due
from pointsmall.kernel import clock


def expiry_rule() -> rules.ExpiryRule:
    """The operators' expiry policy as the pure rule (their defaults until they save it)."""
    policy = policies.expiry_policy()
    return rules.ExpiryRule(mode=policy.mode, months=policy.months, rounding=policy.rounding)


def lot_expiry(earned_at: datetime) -> datetime | None:
    """The instant points earned at ``earned_at`` stop being spendable (exclusive), or None: never."""
    return rules.expiry_for(earned_at, expiry_rule(), clock.business_zone())


def expire_accounts(account_ids: list[int], as_of: datetime, *, now: datetime | None = None) -> tuple[int, int, int]:
    """Expire every due lot of the given, already locked accounts, in a fixed number of queries.

    One expire entry per account (dated ``now``, default the clock), one movement per lot.
    Returns (lots, points, members).
    This is the portable path (SQLite, and the per-account settle); Postgres batches use
    the single-statement ``_EXPIRE_SQL`` below, which does the same work.
    """
    due = list(
        Lot.objects.filter(
            account_id__in=account_ids, status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__lte=as_of
        ).values_list("pk", "account_id", "remaining")
    )
    if not due:
        return 0, 0, 0
    per_account: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lot_id, account_id, remaining in due:
        per_account[account_id].append((lot_id, remaining))
    totals = {account_id: sum(r for _l, r in lots) for account_id, lots in per_account.items()}
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=totals)}
    now = now or timezone.now()
    entries = Entry.objects.bulk_create(
        [
            Entry(
                account_id=account_id,
                kind=EntryKind.EXPIRE,
                amount=-total,
                balance_after=accounts[account_id].balance - total,
                pending_after=accounts[account_id].pending,
                created_at=now,
            )
            for account_id, total in totals.items()
        ]
    )
    entries_logged(EntryLine(e.pk, e.account_id, EntryKind.EXPIRE, e.amount) for e in entries)
    entry_by_account = {e.account_id: e for e in entries}
    LotMovement.objects.bulk_create(
        [
            LotMovement(entry=entry_by_account[account_id], lot_id=lot_id, amount=-remaining)
            for lot_id, account_id, remaining in due
        ]
    )
    Lot.objects.filter(pk__in=[lot_id for lot_id, _a, _r in due]).update(remaining=0)
    Account.objects.filter(pk__in=totals).update(
        balance=Case(*[When(pk=a, then=F("balance") - Value(t)) for a, t in totals.items()]),
        lifetime_expired=Case(*[When(pk=a, then=F("lifetime_expired") + Value(t)) for a, t in totals.items()]),
        updated_at=now,
    )
    return len(due), sum(totals.values()), len(totals)


# One statement per batch, run after the batch's accounts are locked (a separate statement,
# so this one's snapshot sees everything committed before the locks were granted).
# Django's field defaults are not database defaults: the INSERT names every NOT NULL column
# of points_entry, and a new one must be added here (the Postgres expiry tests in
# tests/points/ fail when one is missing).
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
    RETURNING id, account_id, amount
),
mov AS (
    INSERT INTO points_lotmovement (entry_id, lot_id, amount)
    SELECT ent.id, due.id, -due.remaining FROM due JOIN ent ON ent.account_id = due.account_id
),
emptied AS (
    UPDATE points_lot l SET remaining = 0 FROM due WHERE l.id = due.id
)
SELECT (SELECT COUNT(*) FROM due), COALESCE((SELECT SUM(total) FROM per_account), 0),
       (SELECT COUNT(*) FROM per_account),
       (SELECT COALESCE(json_agg(json_build_array(id, account_id, amount)), '[]'::json) FROM ent)
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
        lots, points, members, written = cursor.fetchone()
    # The entries this statement wrote, logged as every other entry is (psycopg decodes json).
    entries_logged(
        EntryLine(entry_id, account_id, EntryKind.EXPIRE, amount) for entry_id, account_id, amount in written
    )
    return int(lots), int(points), int(members)


def points_expire(
    *,
    as_of: datetime | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    use_sql: bool | None = None,
    progress: Callable[[BatchReport], None] | None = None,
    maintain: bool = True,
) -> BatchReport:
    """Expire every lot whose expiry is at or before ``as_of`` (default: now), in batches.

    Each batch locks up to ``batch_size`` accounts (pk order, SKIP LOCKED) and expires
    their due lots in one SQL statement on Postgres (``use_sql``), or in a fixed number
    of ORM queries elsewhere. After a sweep of ``MAINTAIN_AFTER_LOTS`` lots or more,
    ``maintain`` runs ``ledger_maintain`` (VACUUM ANALYZE of the ledger tables). Raises
    FutureAsOfError. Safe to run twice and on several workers at once.
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
                lots, points, members = expire_accounts(locked, as_of)
        report = report.plus(lots, points, members, len(candidates) - len(locked))
        if progress:
            progress(report)
    if maintain and report.lots >= MAINTAIN_AFTER_LOTS:
        ledger_maintain()
    return report


# A sweep this large leaves the ledger tables in a state that slows every full read of them
# (docs/decisions/0047): each emptied lot is a new row version (``remaining`` is in an index
# predicate, so the update cannot be HOT) and a dead one; the new entries and movements fill
# the free space of old pages, clearing their all-visible bits, so points_verify's index-only
# scans fall back to the heap; and the statistics still describe the tables before the sweep.
MAINTAIN_AFTER_LOTS = 10_000
LEDGER_TABLES = ("points_lot", "points_lotmovement", "points_entry", "points_account")


def ledger_maintain() -> str:
    """Leave the ledger tables as a fresh load would: ``VACUUM (ANALYZE)`` them, or only
    ``ANALYZE`` inside a transaction (VACUUM cannot run in one). Postgres only; elsewhere a no-op.

    Takes no lock that blocks reads or writes; safe to run at any time and twice. Returns what
    it ran: ``"vacuum"``, ``"analyze"`` or ``"none"``.
    """
    if connection.vendor != "postgresql":
        return "none"
    tables = ", ".join(LEDGER_TABLES)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute(f"ANALYZE {tables}")
            return "analyze"
        cursor.execute(f"VACUUM (ANALYZE) {tables}")
    return "vacuum"


# The widest window an operator may ask for on the command line: a wider one tells members
# months early and marks their lots reminded, so the reminder that matters never comes.
REMINDER_DAYS_MAX = 90


@dataclass(frozen=True)
class RemindReport:
    """What ``points_remind`` did: ``members`` told, ``lots`` marked reminded, ``batches``
    committed, ``skipped_members`` busy at the time (the next run tells them)."""

    members: int = 0
    lots: int = 0
    batches: int = 0
    skipped_members: int = 0


def _remind_candidates(now: datetime, horizon: datetime, after: int, limit: int | None) -> list[int]:
    due = (
        Lot.objects.filter(
            status=LotStatus.AVAILABLE,
            remaining__gt=0,
            reminded_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
            account_id__gt=after,
        )
        .order_by("account_id")
        .values_list("account_id", flat=True)
        .distinct()
    )
    return list(due[:limit] if limit else due)


def _remind_accounts(account_ids: list[int], now: datetime, horizon: datetime) -> tuple[int, int]:
    """Tell the given, already locked accounts; returns (members told, lots marked)."""
    zone = clock.business_zone()
    lots = list(
        Lot.objects.filter(
            account_id__in=account_ids,
            status=LotStatus.AVAILABLE,
            remaining__gt=0,
            reminded_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
        )
        .order_by("pk")
        .values_list("pk", "account_id", "expires_at")
    )
    # Per account: the days its newly reminded lots expire on, and the first of those lots.
    reminded: dict[int, tuple[set, int]] = {}
    for lot_id, account_id, expires_at in lots:
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
    Lot.objects.filter(pk__in=[lot_id for lot_id, _a, _e in lots]).update(reminded_at=now)
    return len(per_day), len(lots)


def points_remind(
    *,
    now: datetime | None = None,
    days: int | None = None,
    batch_size: int = 200,
    dry_run: bool = False,
    progress: Callable[[RemindReport], None] | None = None,
) -> int:
    """Tell each member, once per lot, which points expire within ``days`` (default: the
    policy's reminder window): one message per member and run, with the points that expire
    on each day (never one sum under the first day).

    Each day's figure is every spendable point that expires that day (also from lots reminded
    before), so the message states what will happen. Lots are marked reminded in the same
    transaction as the notice, so a re-run or a second worker sends nothing twice; the notice's
    key is the first lot it is the first reminder for.

    Works like the expiry sweep: short transactions of up to ``batch_size`` accounts, each
    locking its accounts (pk order, SKIP LOCKED: a member spending right now is skipped, and
    told by the next run) and never more, so a member's own operation waits at most one batch.
    An explicit ``days`` must be 1..REMINDER_DAYS_MAX (ValueError otherwise); the policy's
    window is taken as the operators saved it (0: no reminders). ``dry_run``: count the
    members and lots that would be told, locking and writing nothing. ``progress`` gets the
    running RemindReport after each committed batch (and once, with the counts, on a dry run).
    Returns the number of members told (would be told, on a dry run).
    """
    now = now or timezone.now()
    if days is not None and not 1 <= days <= REMINDER_DAYS_MAX:
        raise ValueError(f"days must be between 1 and {REMINDER_DAYS_MAX}, not {days}")
    if days is None:
        days = policies.expiry_policy().reminder_days
    if days < 1:
        return 0
    horizon = now + timedelta(days=days)
    if dry_run:
        due = Lot.objects.filter(
            status=LotStatus.AVAILABLE,
            remaining__gt=0,
            reminded_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
        ).aggregate(lots=Count("pk"), members=Count("account_id", distinct=True))
        if progress:
            progress(RemindReport(members=due["members"], lots=due["lots"]))
        return due["members"]
    report = RemindReport()
    after = 0
    while candidates := _remind_candidates(now, horizon, after, batch_size):
        after = candidates[-1]
        with transaction.atomic():
            locked = locks.accounts_for_update_skip_locked(account_ids=candidates)
            members, lots = _remind_accounts(locked, now, horizon) if locked else (0, 0)
        report = RemindReport(
            report.members + members,
            report.lots + lots,
            report.batches + 1,
            report.skipped_members + len(candidates) - len(locked),
        )
        if progress:
            progress(report)
    return report.members
