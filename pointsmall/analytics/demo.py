"""Plausible traffic history for the demo mall, so the dashboard's charts have trends.

The history follows the demo's real orders (``catalog.selectors.redemptions_by_product``): each
product's views and redemption starts scale with its standing redemptions, so the product funnel
converts like a real mall (views → starts about 5–15 %, starts → redemptions about 20–60 % over
the dashboard's 30 days). Products nobody redeemed get fewer views and starts that led nowhere,
which is what the "lowest conversion" list is for. Page views per page type follow the product
pages (home most, then the catalogue, product pages, check-in, the lottery …); the product and
redemption-confirmation page views are the sums of the product rows. Today is a partial day: the
hours so far on the business clock.

Deterministic: every figure comes from a random generator seeded by a fixed text, the product id
and the day, so running it again (within the same hour) writes the same rows. Every product gets
a row for every day, zeros included, so a re-run replaces whatever an earlier seed wrote.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from pointsmall.analytics.enums import PageType
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.kernel.clock import business_date, business_time

SEED = "pointsmall-demo-traffic"
WINDOW = 30  # the dashboard's default period: its funnel rates are the ones tuned
# Page views per product page view, and the share of them that are unique visitors. The
# product page (1.0, the sum of the product rows) and the redemption confirmation page (the sum
# of redemption starts) are not listed: they come from the product rows.
_PAGES = {
    PageType.HOME: (2.6, 0.55),
    PageType.CATALOG: (1.5, 0.5),
    PageType.CHECKIN: (0.8, 0.92),
    PageType.LOTTERY: (0.5, 0.6),
    PageType.TASKS: (0.4, 0.7),
    PageType.POINTS: (0.3, 0.75),
    PageType.ORDERS: (0.22, 0.7),
    PageType.LEADERBOARD: (0.18, 0.75),
    PageType.ACCOUNT: (0.15, 0.8),
    PageType.INBOX: (0.1, 0.85),
    PageType.OTHER: (0.06, 0.8),
}
# Typical visible seconds per page type.
_SECONDS = {PageType.PRODUCT: 48, PageType.CATALOG: 35, PageType.HOME: 22, PageType.CHECKIN: 9, PageType.REDEEM: 40}
# Relative traffic per hour of the business day: quiet at night, peaks at lunch and in the evening.
_HOURS = (1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.5, 4, 4.2, 4.8, 5.5, 5, 4.2, 4, 4.2, 4.6, 5.2, 6, 6.5, 6, 4.5, 2.5)


def share_of_day(moment: datetime) -> float:
    """The share of a day's traffic seen by ``moment`` (business clock): the hours gone by and
    half of the current one. Constant within an hour, so a re-run in that hour writes the same."""
    hour = business_time(moment).hour
    return (sum(_HOURS[:hour]) + _HOURS[hour] / 2) / sum(_HOURS)


def _spread(total: int, days: list[date], weights: dict[date, float], rng: random.Random) -> Counter[date]:
    """``total`` events over ``days``, each day's chance in proportion to its weight."""
    if total <= 0 or not days:
        return Counter()
    return Counter(rng.choices(days, weights=[weights[d] for d in days], k=total))


def _windows(calendar: list[date]) -> list[list[date]]:
    """The calendar cut into periods of ``WINDOW`` days counted back from today (oldest last)."""
    windows = []
    end = len(calendar)
    while end > 0:
        windows.append(calendar[max(0, end - WINDOW) : end])
        end -= WINDOW
    return windows


def _product_history(
    pk: int, windows: list[list[date]], weights: dict[date, float], redeemed: dict[date, int]
) -> dict[date, tuple[int, int, int]]:
    """One product's (views, visitors, redemption starts) per day.

    In a period with redemptions, starts = redemptions ÷ a finish rate (25–55 %) and views =
    starts ÷ a start rate (6–14 %); every redemption's start, and two views before it, fall on
    its day. A period without redemptions keeps the product's usual views (or, never redeemed, a
    modest interest) with starts that were abandoned."""
    rng = random.Random(f"{SEED}:product:{pk}")  # noqa: S311 (demo figures, not security)
    start_rate = rng.uniform(0.06, 0.14)
    finish_rate = rng.uniform(0.25, 0.55)
    plan: list[tuple[list[date], int, int]] = []  # (days, views, starts) per period
    levels = []
    for days in windows:
        done = sum(redeemed.get(d, 0) for d in days)
        if done:
            starts = max(done + 1, round(done / finish_rate))
            views = max(starts + 1, round(starts / start_rate))
            levels.append(views / sum(weights[d] for d in days))
            plan.append((days, views, starts))
        else:
            plan.append((days, -1, -1))
    level = sum(levels) / len(levels) if levels else rng.uniform(0.2, 0.6)
    abandon_rate = start_rate * (1 - finish_rate if levels else rng.uniform(0.4, 0.8))
    history: dict[date, tuple[int, int, int]] = {}
    for index, (days, views, starts) in enumerate(plan):
        if views < 0:
            views = round(level * sum(weights[d] for d in days) * rng.uniform(0.75, 1.05))
            # Never redeemed: at least one start in the dashboard's period, so its rate means something.
            starts = max(1 if index == 0 and views >= 3 else 0, round(views * abandon_rate))
        converting = Counter({d: redeemed[d] for d in days if redeemed.get(d)})
        day_starts = converting + _spread(starts - converting.total(), days, weights, rng)
        # A redemption's day also has the views that led to it: the product page, and once more.
        day_views = day_starts + converting
        day_views += _spread(views - day_views.total(), days, weights, rng)
        for day in days:
            seen = day_views[day]
            visitors = seen if seen <= 1 else max(1, round(seen * rng.uniform(0.65, 0.9)))
            history[day] = (seen, visitors, day_starts[day])
    return history


def seed_traffic(days: int = 90, stdout=None, now: datetime | None = None) -> int:
    """Write ``days`` days of PageDaily and ProductDaily history ending yesterday, and today so far,
    for every product of the catalog, following the demo's orders. Returns the number of rows
    written (``(days + 1) × (13 page types + products)``)."""
    from catalog import selectors as catalog_selectors  # the project-level app reads the catalog

    now = now or timezone.now()
    today = business_date(now)
    calendar = [today - timedelta(days=offset) for offset in range(days, -1, -1)]
    mall = random.Random(f"{SEED}:mall")  # noqa: S311 (demo figures, not security)
    weights: dict[date, float] = {}
    for index, day in enumerate(calendar):
        growth = 0.7 + 0.5 * index / max(days, 1)  # the mall grows over the period
        weekend = 1.25 if day.weekday() >= 5 else 1.0
        weights[day] = growth * weekend * mall.uniform(0.85, 1.15) * (share_of_day(now) if day == today else 1)
    windows = _windows(calendar)
    redeemed_by_product: dict[int, dict[date, int]] = {}
    for (day, pk), count in catalog_selectors.redemptions_by_product(first=calendar[0], last=today).items():
        redeemed_by_product.setdefault(pk, {})[day] = count
    products: list[ProductDaily] = []
    product_views: Counter[date] = Counter()
    product_visitors: Counter[date] = Counter()
    starts: Counter[date] = Counter()
    for pk in sorted(catalog_selectors.product_names()):
        history = _product_history(pk, windows, weights, redeemed_by_product.get(pk, {}))
        for day in calendar:
            views, visitors, started = history[day]
            product_views[day] += views
            product_visitors[day] += visitors
            starts[day] += started
            products.append(ProductDaily(day=day, product_id=pk, views=views, visitors=visitors, redeem_starts=started))
    # Other pages follow the product pages' expected (smooth) level, with their own day-to-day noise.
    per_weight = product_views.total() / sum(weights.values()) if product_views else 1.0
    pages: list[PageDaily] = []
    for day in calendar:
        rng = random.Random(f"{SEED}:pages:{day.isoformat()}")  # noqa: S311 (demo figures, not security)
        figures = {
            PageType.PRODUCT: (
                product_views[day],
                round(product_visitors[day] * rng.uniform(0.7, 0.85)),
            ),
            PageType.REDEEM: (starts[day], round(starts[day] * rng.uniform(0.8, 0.95))),
        }
        for page_type, (ratio, unique) in _PAGES.items():
            views = round(ratio * per_weight * weights[day] * rng.uniform(0.88, 1.12))
            figures[page_type] = (views, round(views * unique * rng.uniform(0.95, 1.0)))
        for page_type_code in PageType.values:
            views, visitors = figures[PageType(page_type_code)]
            visitors = min(views, max(visitors, 1 if views else 0))
            timed = int(views * 0.6)
            seconds = _SECONDS.get(PageType(page_type_code), 20) * rng.uniform(0.8, 1.2)
            pages.append(
                PageDaily(
                    day=day,
                    page_type=page_type_code,
                    views=views,
                    visitors=visitors,
                    timed_views=timed,
                    time_on_page_ms=int(timed * seconds * 1000),
                )
            )
    with transaction.atomic():
        PageDaily.objects.bulk_create(
            pages,
            update_conflicts=True,
            unique_fields=["day", "page_type"],
            update_fields=["views", "visitors", "timed_views", "time_on_page_ms"],
        )
        ProductDaily.objects.bulk_create(
            products,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["day", "product"],
            update_fields=["views", "visitors", "redeem_starts"],
        )
    if stdout is not None:
        stdout.write(f"Traffic: {days} days of page and product history and today so far, following the orders")
    return len(pages) + len(products)
