"""The daily roll-up: the apps' figures per business day, read through their public selectors and
stored as absolute values in ``DailyMetric`` (docs/decisions/0031). Safe to run twice, and for
any range of days: each run replaces the rows of its days."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

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


@transaction.atomic
def dashboard_rollup(*, days: int = 2, today: date | None = None) -> int:
    """Recompute the figures of the last ``days`` business days up to ``today`` (default: today,
    so ``days=2`` is today and yesterday) and replace their rows; returns the rows written.

    Reads every app through its selectors (a few aggregate queries per run, whatever the range),
    then deletes and inserts the range's rows in one transaction: readers see the old or the new
    figures, never a mix. Idempotent. Raises ``ValueError`` for ``days`` < 1.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    last = today or clock.business_date()
    first = last - timedelta(days=days - 1)
    figures = _figures(first, last)
    DailyMetric.objects.filter(day__gte=first, day__lte=last).delete()
    DailyMetric.objects.bulk_create(figures)
    return len(figures)
