"""The business time zone: the one place that says which calendar the mall's days follow.

Days, weeks and months of the mall (a point's last valid day, a tier month, a daily cap, a
referral's monthly cap) are dates in ``settings.TIME_ZONE``, whatever zone the server's
clock runs in. Every app asks these helpers instead of building ``ZoneInfo`` itself.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def business_zone() -> ZoneInfo:
    """The mall's time zone (``settings.TIME_ZONE``, e.g. ``Asia/Shanghai``)."""
    return ZoneInfo(settings.TIME_ZONE)


def business_date(moment: datetime | None = None) -> date:
    """The business date of an aware ``moment`` (default: now)."""
    return (moment or timezone.now()).astimezone(business_zone()).date()


def business_day_start(day: date) -> datetime:
    """The aware instant ``day`` begins (00:00) in the business time zone."""
    return datetime.combine(day, time.min, tzinfo=business_zone())


def period_start(now: datetime, period: str, zone: tzinfo | None = None) -> datetime:
    """The aware instant the ``period`` containing ``now`` begins, 00:00 in ``zone``.

    ``period`` is ``"day"``, ``"week"`` (starting Monday) or ``"month"`` (starting on the 1st);
    ``zone`` defaults to the business zone, and given one the function reads no settings.
    Daily, weekly and monthly caps and the tier month count from here. Raises ``ValueError``
    for any other ``period``.
    """
    zone = zone or business_zone()
    day = now.astimezone(zone).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period != "day":
        raise ValueError(f"unknown period {period!r}: day, week or month")
    return datetime.combine(day, time.min, tzinfo=zone)


def business_time(moment: datetime) -> datetime:
    """An aware ``moment`` on the business clock, for display."""
    return moment.astimezone(business_zone())


def minute_text(moment: datetime | None) -> str:
    """``moment`` as members and operators read it: ``YYYY-MM-DD HH:MM`` on the business clock; "" for None."""
    return business_time(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def queued_window(*, now: datetime, busy_until: datetime | None, days: int) -> tuple[datetime, datetime]:
    """The window of a timed privilege bought now: ``days`` × 24 h, queued after the same kind
    of privilege the member already has running (``busy_until``), so two cards never overlap
    and none is wasted (tier trials, check-in boosts: docs/decisions/0020, 0024)."""
    starts_at = max(now, busy_until) if busy_until is not None else now
    return starts_at, starts_at + timedelta(days=days)
