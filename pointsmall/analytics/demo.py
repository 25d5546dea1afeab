"""Plausible traffic history for the demo mall, so the dashboard's charts have trends."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction

from pointsmall.analytics.enums import PageType
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.kernel.clock import business_date

# Daily views on an average weekday, and the share of them that are unique visitors.
_BASE = {
    PageType.HOME: (900, 0.55),
    PageType.CATALOG: (520, 0.5),
    PageType.PRODUCT: (760, 0.45),
    PageType.REDEEM: (95, 0.8),
    PageType.CHECKIN: (610, 0.92),
    PageType.TASKS: (280, 0.7),
    PageType.LEADERBOARD: (120, 0.75),
    PageType.LOTTERY: (240, 0.6),
    PageType.ORDERS: (150, 0.7),
    PageType.POINTS: (200, 0.75),
    PageType.ACCOUNT: (130, 0.8),
    PageType.INBOX: (90, 0.85),
    PageType.OTHER: (60, 0.8),
}
# Typical visible seconds per page type.
_SECONDS = {PageType.PRODUCT: 48, PageType.CATALOG: 35, PageType.HOME: 22, PageType.CHECKIN: 9, PageType.REDEEM: 40}


def seed_traffic(days: int = 90, stdout=None) -> int:
    """Write ``days`` days of PageDaily and ProductDaily history ending yesterday, for the demo
    products (the catalog's first twenty). Deterministic; running it again writes the same rows.
    Returns the number of rows written."""
    from catalog.models import Product  # the project-level app reads the catalog

    rng = random.Random(2028)  # noqa: S311 (demo figures, not security)
    today = business_date()
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:20])
    popularity = {pk: rng.uniform(0.3, 1.6) for pk in product_ids}
    pages, products = [], []
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        growth = 0.7 + 0.5 * (days - offset) / days  # the mall grows over the period
        weekend = 1.25 if day.weekday() >= 5 else 1.0
        for page_type, (base, unique) in _BASE.items():
            views = int(base * growth * weekend * rng.uniform(0.85, 1.15))
            visitors = int(views * unique * rng.uniform(0.95, 1.0))
            timed = int(views * 0.6)
            seconds = _SECONDS.get(page_type, 20) * rng.uniform(0.8, 1.2)
            pages.append(
                PageDaily(
                    day=day,
                    page_type=page_type,
                    views=views,
                    visitors=visitors,
                    timed_views=timed,
                    time_on_page_ms=int(timed * seconds * 1000),
                )
            )
        for pk in product_ids:
            views = int(40 * popularity[pk] * growth * weekend * rng.uniform(0.7, 1.3))
            visitors = int(views * rng.uniform(0.6, 0.8))
            products.append(
                ProductDaily(
                    day=day,
                    product_id=pk,
                    views=views,
                    visitors=visitors,
                    redeem_starts=int(visitors * rng.uniform(0.05, 0.2)),
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
            update_conflicts=True,
            unique_fields=["day", "product"],
            update_fields=["views", "visitors", "redeem_starts"],
        )
    if stdout is not None:
        stdout.write(f"Traffic: {days} days of page and product history")
    return len(pages) + len(products)
