"""Pure functions of the ledger: no ORM, no clock. The easiest code to test."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from points.enums import ExpiryMode, ExpiryRounding


@dataclass(frozen=True)
class ExpiryRule:
    mode: str = ExpiryMode.ROLLING_MONTHS
    months: int = 12
    rounding: str = ExpiryRounding.END_OF_DAY


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time ``months`` later; the 31st or 29 Feb clamp to the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def expiry_for(earned_at: datetime, rule: ExpiryRule, zone: tzinfo) -> datetime | None:
    """The instant points earned at ``earned_at`` stop being spendable (exclusive), or None.

    Dates are the business dates of ``zone`` (the mall's TIME_ZONE): "end of day" is the
    next local midnight, whatever the server's clock zone.
    """
    if rule.mode == ExpiryMode.NEVER:
        return None
    local = earned_at.astimezone(zone)
    if rule.mode == ExpiryMode.CALENDAR_YEAR_END:
        return _start_of(date(local.year + 1, 1, 1), zone)
    target = add_months(local, rule.months)
    if rule.rounding == ExpiryRounding.END_OF_DAY:
        return _start_of(target.date() + timedelta(days=1), zone)
    if rule.rounding == ExpiryRounding.END_OF_MONTH:
        first_of_next = date(target.year + target.month // 12, target.month % 12 + 1, 1)
        return _start_of(first_of_next, zone)
    return target


def last_valid_day(expires_at: datetime, zone: tzinfo) -> date:
    """The last business date on which points expiring at ``expires_at`` can still be spent."""
    return (expires_at.astimezone(zone) - timedelta(microseconds=1)).date()


def take_fifo(lots: list[tuple[int, int]], amount: int) -> list[tuple[int, int]]:
    """Split ``amount`` over ``(lot_id, remaining)`` pairs already in spending order.

    Returns ``(lot_id, taken)`` pairs; the caller checked that the lots cover ``amount``.
    """
    takes = []
    left = amount
    for lot_id, remaining in lots:
        if left == 0:
            break
        take = min(remaining, left)
        if take > 0:
            takes.append((lot_id, take))
            left -= take
    return takes
