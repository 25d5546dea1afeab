from __future__ import annotations

from datetime import date

from pointsmall.analytics import services
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.kernel.clock import business_date


def rolled(page_type: str, day: date | None = None) -> tuple[int, int]:
    """(views, visitors) of a page type after a roll-up of ``day`` (default today); (0, 0) if none."""
    day = day or business_date()
    services.traffic_rollup(day=day)
    row = PageDaily.objects.filter(day=day, page_type=page_type).first()
    return (row.views, row.visitors) if row else (0, 0)


def product_rolled(product_id: int, day: date | None = None) -> tuple[int, int, int] | None:
    day = day or business_date()
    services.traffic_rollup(day=day)
    row = ProductDaily.objects.filter(day=day, product_id=product_id).first()
    return (row.views, row.visitors, row.redeem_starts) if row else None
