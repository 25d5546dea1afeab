"""Check-ins per business day for the operators' dashboard (docs/decisions/0031)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Count

from tasks.models.checkin import Checkin

__all__ = ["checkin_members_by_day", "checkins_by_day"]


def checkins_by_day(*, first: date, last: date) -> dict[date, int]:
    """Check-ins per business day (the check-in's own ``day``; make-up days included), one query."""
    return dict(
        Checkin.objects.filter(day__gte=first, day__lte=last)
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )


def checkin_members_by_day(*, first: date, last: date) -> dict[date, set[int]]:
    """The members with a check-in on each business day (for "active members")."""
    result: dict[date, set[int]] = defaultdict(set)
    for day, member in Checkin.objects.filter(day__gte=first, day__lte=last).values_list("day", "member_id"):
        result[day].add(member)
    return dict(result)
