"""Draws per business day for the operators' dashboard (docs/decisions/0031)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate

from lottery.models import Draw
from pointsmall.kernel import clock


def draws_by_day(*, first: date, last: date) -> dict[date, int]:
    """Prize draws per business day, every campaign, free and paid (one query)."""
    return dict(
        Draw.objects.filter(
            created_at__gte=clock.business_day_start(first),
            created_at__lt=clock.business_day_start(last + timedelta(days=1)),
        )
        .annotate(day=TruncDate("created_at", tzinfo=clock.business_zone()))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
