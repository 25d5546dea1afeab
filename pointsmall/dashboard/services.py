"""The daily roll-up: the apps' figures per business day, read through their public selectors and
stored as absolute values in ``DailyMetric`` (docs/decisions/0031). Safe to run twice, and for
any range of days: each run replaces the rows of its days, and runs at the same time (beat
overlapping a manual backfill) take turns instead of failing."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts import selectors as accounts_selectors
from catalog import selectors as catalog_selectors
from lottery import selectors as lottery_selectors
from points import selectors as points_selectors
from pointsmall.dashboard.enums import Metric
from pointsmall.dashboard.models import DailyMetric
from pointsmall.kernel import clock
from tasks import selectors as tasks_selectors


def _figures(first: date, last: date) -> list[DailyMetric]:
    rows: dict[tuple[date, str, str], int] = {}

    def put(day: date, metric: str, value: int, dimension: str = "") -> None:
        if value:
            rows[(day, metric, dimension)] = int(value)

    for day, n in accounts_selectors.signups_by_day(first=first, last=last).items():
        put(day, Metric.SIGNUPS, n)
    for day, n in tasks_selectors.checkins_by_day(first=first, last=last).items():
        put(day, Metric.CHECKINS, n)
    for day, n in catalog_selectors.orders_by_day(first=first, last=last).items():
        put(day, Metric.ORDERS, n)
    for day, n in lottery_selectors.draws_by_day(first=first, last=last).items():
        put(day, Metric.DRAWS, n)
    for day, points in points_selectors.points_by_day(first=first, last=last).items():
        put(day, Metric.ISSUED, points.issued)
        put(day, Metric.SPENT, points.spent)
        put(day, Metric.EXPIRED, points.expired)
    for (day, category), n in catalog_selectors.redemptions_by_category(first=first, last=last).items():
        put(day, Metric.REDEMPTIONS, n, str(category))
    for (day, product), n in catalog_selectors.redemptions_by_product(first=first, last=last).items():
        put(day, Metric.PRODUCT_REDEMPTIONS, n, str(product))
    active: dict[date, set[int]] = {}
    for source in (
        points_selectors.ledger_members_by_day(first=first, last=last),
        catalog_selectors.ordering_members_by_day(first=first, last=last),
        tasks_selectors.checkin_members_by_day(first=first, last=last),
    ):
        for day, members in source.items():
            active.setdefault(day, set()).update(members)
    for day, members in active.items():
        put(day, Metric.ACTIVE, len(members))
    return [DailyMetric(day=d, metric=m, dimension=dim, value=v) for (d, m, dim), v in sorted(rows.items())]


# The key of the transaction-level advisory lock the roll-up holds on Postgres (any fixed 64-bit
# number no other lock uses: "dash" in ASCII).
ROLLUP_LOCK_KEY = 0x64617368


def _lock_rollup() -> None:
    """One roll-up at a time: on Postgres a transaction-level advisory lock (released at commit or
    rollback), taken before the figures are read so the run that waits reads what the other wrote.
    SQLite has a single writer already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])


@transaction.atomic
def dashboard_rollup(*, days: int = 2, today: date | None = None) -> int:
    """Recompute the figures of the last ``days`` business days up to ``today`` (default: today,
    so ``days=2`` is today and yesterday) and replace their rows; returns the rows written.

    Reads every app through its selectors (a few aggregate queries per run, whatever the range),
    then, in one transaction, upserts the range's rows (insert, or update the value of the row with
    the same day, metric and dimension) and deletes only the range's rows whose figure is now zero
    or gone: readers see the old or the new figures, never a mix. Concurrent runs (beat and a
    manual backfill) take turns on an advisory lock (Postgres); even without it the upsert never
    collides on the unique (day, metric, dimension). Idempotent. Raises ``ValueError`` for
    ``days`` < 1.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    last = today or clock.business_date()
    first = last - timedelta(days=days - 1)
    _lock_rollup()
    figures = _figures(first, last)
    now = timezone.now()
    for row in figures:
        row.rolled_up_at = now
    keep = {(row.day, row.metric, row.dimension) for row in figures}
    existing = DailyMetric.objects.filter(day__gte=first, day__lte=last).values_list("pk", "day", "metric", "dimension")
    stale = [pk for pk, day, metric, dimension in existing if (day, metric, dimension) not in keep]
    if stale:
        DailyMetric.objects.filter(pk__in=stale).delete()
    DailyMetric.objects.bulk_create(
        figures,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["day", "metric", "dimension"],
        update_fields=["value", "rolled_up_at"],
    )
    return len(figures)
