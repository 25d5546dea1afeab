"""Reads of the daily traffic tables for the operators' dashboard: small frozen dataclasses.

Unique visitors are per page type (or product) and day; summing them over days or page types
counts a returning visitor once per day and page type, which is what "visitors" means in every
total below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Sum

from pointsmall.analytics.enums import PageType
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.kernel.language import pick_language


@dataclass(frozen=True)
class PageTraffic:
    """One page type on one day."""

    day: date
    page_type: str
    label: str
    views: int
    visitors: int
    timed_views: int
    time_on_page_ms: int

    @property
    def average_ms(self) -> int | None:
        """Average visible time on the page, whole ms; None without samples."""
        return self.time_on_page_ms // self.timed_views if self.timed_views else None


@dataclass(frozen=True)
class DayTraffic:
    """All page types of one day: views, per-page-type visitors summed, and the rows."""

    day: date
    views: int
    visitors: int
    pages: tuple[PageTraffic, ...]


@dataclass(frozen=True)
class ProductFunnel:
    """A product's top of funnel over a period."""

    product_id: int
    name: str
    views: int
    visitors: int
    redeem_starts: int

    @property
    def start_rate_percent(self) -> int | None:
        """Redemption starts per hundred unique visitors (whole number), None without visitors."""
        return self.redeem_starts * 100 // self.visitors if self.visitors else None


def traffic_by_day(*, start: date, end: date, page_type: str | None = None) -> list[DayTraffic]:
    """Every day from ``start`` to ``end`` inclusive, oldest first, days without traffic
    included with zeros (a chart's x axis). ``page_type`` narrows to one PageType value."""
    rows = PageDaily.objects.filter(day__range=(start, end)).order_by("day", "page_type")
    if page_type is not None:
        rows = rows.filter(page_type=page_type)
    labels = dict(PageType.choices)
    by_day: dict[date, list[PageTraffic]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(
            PageTraffic(
                day=row.day,
                page_type=row.page_type,
                label=str(labels.get(row.page_type, row.page_type)),
                views=row.views,
                visitors=row.visitors,
                timed_views=row.timed_views,
                time_on_page_ms=row.time_on_page_ms,
            )
        )
    result = []
    day = start
    while day <= end:
        pages = tuple(by_day.get(day, ()))
        result.append(
            DayTraffic(day=day, views=sum(p.views for p in pages), visitors=sum(p.visitors for p in pages), pages=pages)
        )
        day = date.fromordinal(day.toordinal() + 1)
    return result


def traffic_by_page_type(*, start: date, end: date) -> list[PageTraffic]:
    """Each page type's totals over the period (``day`` is ``start``), most viewed first."""
    labels = dict(PageType.choices)
    rows = (
        PageDaily.objects.filter(day__range=(start, end))
        .values("page_type")
        .annotate(v=Sum("views"), u=Sum("visitors"), n=Sum("timed_views"), ms=Sum("time_on_page_ms"))
        .order_by("-v", "page_type")
    )
    return [
        PageTraffic(
            day=start,
            page_type=row["page_type"],
            label=str(labels.get(row["page_type"], row["page_type"])),
            views=row["v"],
            visitors=row["u"],
            timed_views=row["n"],
            time_on_page_ms=row["ms"],
        )
        for row in rows
    ]


def product_funnel_top(*, start: date, end: date, limit: int = 10) -> list[ProductFunnel]:
    """The ``limit`` most viewed products over the period (ties: most redemption starts, then
    product id), with the product's name in the reader's language."""
    rows = (
        ProductDaily.objects.filter(day__range=(start, end))
        .values("product_id", "product__name_zh", "product__name_en")
        .annotate(v=Sum("views"), u=Sum("visitors"), rs=Sum("redeem_starts"))
        .order_by("-v", "-rs", "product_id")[:limit]
    )
    return [
        ProductFunnel(
            product_id=row["product_id"],
            name=pick_language(zh=row["product__name_zh"], en=row["product__name_en"], fallback=True),
            views=row["v"],
            visitors=row["u"],
            redeem_starts=row["rs"],
        )
        for row in rows
    ]
