"""The only code that writes traffic: live counts (Redis, or the database fallback) and the
daily roll-up into PageDaily / ProductDaily."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import redis
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from pointsmall.analytics import store
from pointsmall.analytics.enums import PageType
from pointsmall.analytics.exceptions import StoreUnavailableError
from pointsmall.analytics.models import PageDaily, ProductDaily, RawTiming, RawVisit
from pointsmall.analytics.rules import timing_accepted
from pointsmall.kernel.clock import business_date

logger = logging.getLogger(__name__)


def view_record(
    *, page_type: str, visitor: str, product_id: int | None = None, redeem_start: bool = False, day: date | None = None
) -> str:
    """Count one page view (and, on product pages, one for the product; ``redeem_start`` one
    redemption start). Redis first; the database (one RawVisit row) when Redis is not configured
    or not answering. Returns "redis" or "database". Not idempotent: each call is one view."""
    day = day or business_date()
    if store.redis_configured():
        try:
            store.redis_view(
                day=day, page_type=page_type, visitor=visitor, product_id=product_id, redeem_start=redeem_start
            )
            return "redis"
        except StoreUnavailableError:
            pass
        except redis.RedisError as error:
            store.mark_down(error)
    with transaction.atomic():
        RawVisit.objects.create(day=day, page_type=page_type, visitor=visitor, product_id=product_id)
    return "database"


def timing_record(*, page_type: str, milliseconds: int, day: date | None = None) -> bool:
    """Add one time-on-page sample unless it is an outlier (rules.timing_accepted). Returns
    whether it was kept. Redis first, else one RawTiming row."""
    if page_type not in PageType.values or not timing_accepted(milliseconds):
        return False
    day = day or business_date()
    if store.redis_configured():
        try:
            store.redis_timing(day=day, page_type=page_type, milliseconds=milliseconds)
            return True
        except StoreUnavailableError:
            pass
        except redis.RedisError as error:
            store.mark_down(error)
    with transaction.atomic():
        RawTiming.objects.create(day=day, page_type=page_type, milliseconds=milliseconds)
    return True


@dataclass(frozen=True)
class RollupReport:
    day: date
    page_types: int
    products: int
    views: int
    source: str  # "redis+database" or "database"


@dataclass
class _Figures:
    pv: dict[str, int] = field(default_factory=dict)
    uv: dict[str, int] = field(default_factory=dict)
    product_pv: dict[int, int] = field(default_factory=dict)
    product_uv: dict[int, int] = field(default_factory=dict)
    product_rs: dict[int, int] = field(default_factory=dict)
    time_n: dict[str, int] = field(default_factory=dict)
    time_ms: dict[str, int] = field(default_factory=dict)


def _database_figures(day: date) -> tuple[_Figures, dict[str, list[str]], dict[int, list[str]]]:
    """The fallback rows of ``day``: their counts, and their visitors for folding into the HLLs."""
    figures = _Figures()
    raw = RawVisit.objects.filter(day=day)
    for page in raw.values("page_type").annotate(views=Count("id"), visitors=Count("visitor", distinct=True)):
        figures.pv[page["page_type"]] = page["views"]
        figures.uv[page["page_type"]] = page["visitors"]
    products = raw.filter(page_type=PageType.PRODUCT, product_id__isnull=False)
    for product in products.values("product_id").annotate(views=Count("id"), visitors=Count("visitor", distinct=True)):
        figures.product_pv[int(product["product_id"] or 0)] = product["views"]
        figures.product_uv[int(product["product_id"] or 0)] = product["visitors"]
    starts = raw.filter(page_type=PageType.REDEEM, product_id__isnull=False)
    for start in starts.values("product_id").annotate(starts=Count("id")):
        figures.product_rs[int(start["product_id"] or 0)] = start["starts"]
    timings = RawTiming.objects.filter(day=day).values("page_type")
    for timing in timings.annotate(n=Count("id"), ms=Sum("milliseconds")):
        figures.time_n[timing["page_type"]] = timing["n"]
        figures.time_ms[timing["page_type"]] = timing["ms"]
    page_visitors: dict[str, list[str]] = {}
    for page_type, visitor in raw.values_list("page_type", "visitor").distinct():
        page_visitors.setdefault(page_type, []).append(visitor)
    product_visitors: dict[int, list[str]] = {}
    for product_id, visitor in products.values_list("product_id", "visitor").distinct():
        product_visitors.setdefault(int(product_id or 0), []).append(visitor)
    return figures, page_visitors, product_visitors


def _add(left: dict, right: dict) -> dict:
    return {k: left.get(k, 0) + right.get(k, 0) for k in set(left) | set(right)}


def traffic_rollup(*, day: date) -> RollupReport:
    """Write ``day``'s absolute figures into PageDaily and ProductDaily from Redis plus the
    database fallback rows (views summed; the fallback's visitors PFADDed into Redis's HLLs so a
    visitor seen by both stores counts once). Safe to run twice and concurrently: both write
    the same numbers (upserts on the unique day keys).

    Raises StoreUnavailableError when Redis is configured but does not answer: the roll-up
    never overwrites figures with a partial count.
    """
    db, page_visitors, product_visitors = _database_figures(day)
    if store.redis_configured():
        try:
            live = store.redis_day(day=day, page_visitors=page_visitors, product_visitors=product_visitors)
        except redis.RedisError as error:
            raise StoreUnavailableError(str(error)) from error
        figures = _Figures(
            pv=_add(live["pv"], db.pv),
            uv=live["uv"],
            product_pv=_add(live["product_pv"], db.product_pv),
            product_uv=live["product_uv"],
            product_rs=_add(live["product_rs"], db.product_rs),
            time_n=_add(live["time_n"], db.time_n),
            time_ms=_add(live["time_ms"], db.time_ms),
        )
        source = "redis+database"
    else:
        figures, source = db, "database"
    return _write(day, figures, source)


def _write(day: date, figures: _Figures, source: str) -> RollupReport:
    # Imported here: the project-level app reads the catalog; the catalog never imports it.
    from catalog.models import Product

    now = timezone.now()
    page_types = sorted((set(figures.pv) | set(figures.time_n)) & set(PageType.values))
    pages = [
        PageDaily(
            day=day,
            page_type=page_type,
            views=figures.pv.get(page_type, 0),
            # A HyperLogLog estimate (±0.81 %) may pass the exact view count on tiny sets.
            visitors=min(figures.uv.get(page_type, 0), figures.pv.get(page_type, 0)),
            timed_views=figures.time_n.get(page_type, 0),
            time_on_page_ms=figures.time_ms.get(page_type, 0),
            rolled_up_at=now,
        )
        for page_type in page_types
    ]
    seen = set(figures.product_pv) | set(figures.product_rs)
    existing = set(Product.objects.filter(pk__in=seen).values_list("pk", flat=True))
    products = [
        ProductDaily(
            day=day,
            product_id=product_id,
            views=figures.product_pv.get(product_id, 0),
            visitors=min(figures.product_uv.get(product_id, 0), figures.product_pv.get(product_id, 0)),
            redeem_starts=figures.product_rs.get(product_id, 0),
            rolled_up_at=now,
        )
        for product_id in sorted(existing)
    ]
    with transaction.atomic():
        PageDaily.objects.bulk_create(
            pages,
            update_conflicts=True,
            unique_fields=["day", "page_type"],
            update_fields=["views", "visitors", "timed_views", "time_on_page_ms", "rolled_up_at"],
        )
        ProductDaily.objects.bulk_create(
            products,
            update_conflicts=True,
            unique_fields=["day", "product"],
            update_fields=["views", "visitors", "redeem_starts", "rolled_up_at"],
        )
    return RollupReport(
        day=day, page_types=len(pages), products=len(products), views=sum(p.views for p in pages), source=source
    )


def raw_purge(*, today: date | None = None) -> int:
    """Delete fallback rows of days that have left the live window (older than the last
    ``store.LIVE_DAYS`` days): every roll-up of their day has counted them already, and the
    roll-up no longer reads that day. Returns the number of rows deleted. Safe to run twice."""
    first_live = (today or business_date()) - timedelta(days=store.LIVE_DAYS - 1)
    visits, _ = RawVisit.objects.filter(day__lt=first_live).delete()
    timings, _ = RawTiming.objects.filter(day__lt=first_live).delete()
    return visits + timings


def live_days(*, today: date | None = None) -> list[date]:
    """The days whose live counters still exist, newest first: the only days a roll-up may read."""
    today = today or business_date()
    return [today - timedelta(days=n) for n in range(store.LIVE_DAYS)]
