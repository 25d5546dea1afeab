"""Pure check-in rules: no ORM, no clock. Days are business dates (``pointsmall.kernel.clock``).

Cycle names and policy values are the strings of ``tasks.models.checkin`` choices
(``"weekly"``/``"monthly"``, ``"missed_day"``/``"cycle"``, ``"keep_last"``/``"repeat"``).
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

WEEKLY = "weekly"
MONTHLY = "monthly"
RESET_ON_MISSED_DAY = "missed_day"
RESET_ON_CYCLE = "cycle"
KEEP_LAST = "keep_last"
REPEAT = "repeat"


def cycle_bounds(day: date, cycle: str) -> tuple[date, date]:
    """The first and last day of the cycle containing ``day``: Monday..Sunday, or the calendar month."""
    if cycle == WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if cycle == MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    raise ValueError(f"unknown cycle {cycle!r}: weekly or monthly")


def streak_day(*, previous_streak: int, day: date, cycle: str, reset: str) -> int:
    """The streak of a check-in on ``day`` given the streak ending the day before (0: none)."""
    if reset == RESET_ON_CYCLE and cycle_bounds(day, cycle)[0] == day:
        return 1
    return previous_streak + 1


def streak_ending(checked: Collection[date], day: date, *, floor: date | None = None) -> int:
    """How many consecutive checked days end at ``day`` (0 if ``day`` is not checked), counting
    no day before ``floor`` (the cycle start when streaks restart each cycle)."""
    count = 0
    current = day
    while current in checked and (floor is None or current >= floor):
        count += 1
        current -= timedelta(days=1)
    return count


def streak_points(streak: int, table: Mapping[int, int], *, base: int, after_table: str) -> int:
    """What day ``streak`` of a streak pays: the table's row for that day, else the base amount.

    Past the table's last day: the last row's points (``keep_last``), or the table read again
    from day 1 (``repeat``: with a 7-day table, day 8 pays like day 1 and day 14 like day 7).
    """
    if streak < 1:
        raise ValueError("a streak starts at day 1")
    if not table:
        return base
    last = max(table)
    if streak > last:
        if after_table == REPEAT:
            streak = (streak - 1) % last + 1
        else:
            return table[last]
    return table.get(streak, base)


def boosted_points(points: int, multiplier: Decimal | None) -> int:
    """``points`` × ``multiplier``, rounded down (a boost never gives a fraction)."""
    if multiplier is None:
        return points
    return int((Decimal(points) * multiplier).to_integral_value(rounding=ROUND_FLOOR))


def bonuses_crossed(before: int, after: int, thresholds: Iterable[int]) -> list[int]:
    """The cycle-bonus thresholds reached by going from ``before`` to ``after`` check-ins in a cycle."""
    return sorted(t for t in set(thresholds) if before < t <= after)


def makeup_days(
    *,
    today: date,
    cycle: str,
    checked: Collection[date],
    joined: date,
    used: int,
    limit: int,
    enabled: bool = True,
) -> list[date]:
    """Days a member may make up now: missed days of the current cycle before today, not before
    they joined, while the cycle's make-up limit (``used`` of ``limit``) has room."""
    if not enabled or used >= limit:
        return []
    start, _end = cycle_bounds(today, cycle)
    first = max(start, joined)
    days = []
    current = first
    while current < today:
        if current not in checked:
            days.append(current)
        current += timedelta(days=1)
    return days


@dataclass(frozen=True)
class Tomorrow:
    """What checking in tomorrow gives (after a check-in boost running then, before tier and
    campaign multipliers). ``multiplier``: that boost's, None without one."""

    day: date
    streak: int
    points: int
    bonus: int
    multiplier: Decimal | None = None


def tomorrow_gives(
    *,
    today: date,
    streak_today: int,
    checked_today: bool,
    count_in_cycle: int,
    table: Mapping[int, int],
    bonuses: Mapping[int, int],
    base: int,
    cycle: str,
    reset: str,
    after_table: str,
    multiplier: Decimal | None = None,
) -> Tomorrow:
    """Tomorrow's streak, points and cycle bonus, if the member checks in today (when not done yet) and tomorrow.

    ``streak_today``: the streak ending today when checked, else the one ending yesterday.
    ``multiplier``: the check-in boost running tomorrow (None: none); it multiplies the daily
    points, rounded down as ``boosted_points`` does at check-in, not the cycle bonus.
    """
    tomorrow = today + timedelta(days=1)
    through_today = (
        streak_today if checked_today else streak_day(previous_streak=streak_today, day=today, cycle=cycle, reset=reset)
    )
    streak = streak_day(previous_streak=through_today, day=tomorrow, cycle=cycle, reset=reset)
    points = streak_points(streak, table, base=base, after_table=after_table) if base else 0
    points = boosted_points(points, multiplier)
    if cycle_bounds(tomorrow, cycle)[0] == tomorrow:
        count_before = 0
    else:
        count_before = count_in_cycle + (0 if checked_today else 1)
    bonus = sum(bonuses[t] for t in bonuses_crossed(count_before, count_before + 1, bonuses))
    return Tomorrow(tomorrow, streak, points, bonus, multiplier)
