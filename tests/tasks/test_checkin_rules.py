"""The pure check-in rules: cycles, streaks, the streak table, cycle bonuses, make-up days, tomorrow."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tasks.rules import checkin as rules

D = date


def days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


# --- cycles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (D(2026, 11, 30), D(2026, 11, 30), D(2026, 12, 6)),  # a Monday
        (D(2026, 12, 6), D(2026, 11, 30), D(2026, 12, 6)),  # a Sunday
        (D(2026, 12, 31), D(2026, 12, 28), D(2027, 1, 3)),  # a week across the year end
        (D(2024, 2, 29), D(2024, 2, 26), D(2024, 3, 3)),
    ],
)
def test_weekly_cycle_runs_monday_to_sunday(day, start, end):
    assert rules.cycle_bounds(day, rules.WEEKLY) == (start, end)


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (D(2026, 1, 1), D(2026, 1, 1), D(2026, 1, 31)),
        (D(2026, 2, 28), D(2026, 2, 1), D(2026, 2, 28)),
        (D(2024, 2, 15), D(2024, 2, 1), D(2024, 2, 29)),  # leap year
        (D(2026, 4, 30), D(2026, 4, 1), D(2026, 4, 30)),
        (D(2026, 12, 31), D(2026, 12, 1), D(2026, 12, 31)),
    ],
)
def test_monthly_cycle_is_the_calendar_month(day, start, end):
    assert rules.cycle_bounds(day, rules.MONTHLY) == (start, end)


def test_an_unknown_cycle_is_refused():
    with pytest.raises(ValueError, match="unknown cycle"):
        rules.cycle_bounds(D(2026, 1, 1), "daily")


# --- streaks --------------------------------------------------------------------------------


def test_streak_counts_consecutive_days_ending_at_the_day():
    checked = days(D(2026, 1, 3), D(2026, 1, 9)) | {D(2026, 1, 1)}
    assert rules.streak_ending(checked, D(2026, 1, 9)) == 7
    assert rules.streak_ending(checked, D(2026, 1, 5)) == 3
    assert rules.streak_ending(checked, D(2026, 1, 2)) == 0
    assert rules.streak_ending(checked, D(2026, 1, 1)) == 1
    assert rules.streak_ending(set(), D(2026, 1, 1)) == 0


def test_streak_with_a_floor_counts_nothing_before_it():
    checked = days(D(2026, 1, 25), D(2026, 2, 3))
    assert rules.streak_ending(checked, D(2026, 2, 3)) == 10
    assert rules.streak_ending(checked, D(2026, 2, 3), floor=D(2026, 2, 1)) == 3


def test_streak_day_goes_on_across_a_cycle_unless_the_policy_restarts_it():
    monthly, weekly = rules.MONTHLY, rules.WEEKLY
    on_miss, on_cycle = rules.RESET_ON_MISSED_DAY, rules.RESET_ON_CYCLE
    assert rules.streak_day(previous_streak=9, day=D(2026, 2, 1), cycle=monthly, reset=on_miss) == 10
    assert rules.streak_day(previous_streak=9, day=D(2026, 2, 1), cycle=monthly, reset=on_cycle) == 1
    assert rules.streak_day(previous_streak=9, day=D(2026, 2, 2), cycle=monthly, reset=on_cycle) == 10
    # 2026-11-30 is a Monday: a weekly cycle starts there.
    assert rules.streak_day(previous_streak=6, day=D(2026, 11, 30), cycle=weekly, reset=on_cycle) == 1
    assert rules.streak_day(previous_streak=6, day=D(2026, 12, 1), cycle=monthly, reset=on_cycle) == 1
    assert rules.streak_day(previous_streak=0, day=D(2026, 12, 2), cycle=weekly, reset=on_miss) == 1


# --- the streak table -----------------------------------------------------------------------

TABLE = {3: 8, 7: 10}


@pytest.mark.parametrize(
    ("streak", "keep_last", "repeat"),
    [
        (1, 5, 5),
        (2, 5, 5),
        (3, 8, 8),
        (6, 5, 5),
        (7, 10, 10),
        (8, 10, 5),  # past the last row: keep 10, or day 1 again
        (10, 10, 8),  # repeat: day 10 is day 3 of the second round
        (14, 10, 10),
        (15, 10, 5),
        (365, 10, 5),  # 365 = 52 × 7 + 1
    ],
)
def test_streak_points_follow_the_table_and_the_after_table_policy(streak, keep_last, repeat):
    assert rules.streak_points(streak, TABLE, base=5, after_table=rules.KEEP_LAST) == keep_last
    assert rules.streak_points(streak, TABLE, base=5, after_table=rules.REPEAT) == repeat


def test_an_empty_table_pays_the_base_every_day():
    assert rules.streak_points(1, {}, base=5, after_table=rules.KEEP_LAST) == 5
    assert rules.streak_points(400, {}, base=5, after_table=rules.REPEAT) == 5


def test_a_one_row_table_on_day_one():
    assert rules.streak_points(1, {1: 7}, base=5, after_table=rules.KEEP_LAST) == 7
    assert rules.streak_points(9, {1: 7}, base=5, after_table=rules.REPEAT) == 7


def test_streak_day_zero_is_a_programming_error():
    with pytest.raises(ValueError, match="day 1"):
        rules.streak_points(0, TABLE, base=5, after_table=rules.KEEP_LAST)


def test_boosted_points_round_down():
    assert rules.boosted_points(5, None) == 5
    assert rules.boosted_points(5, Decimal("2")) == 10
    assert rules.boosted_points(5, Decimal("1.5")) == 7
    assert rules.boosted_points(3, Decimal("1.33")) == 3
    assert rules.boosted_points(0, Decimal("3")) == 0


# --- cycle bonuses --------------------------------------------------------------------------


def test_bonuses_crossed_between_two_counts():
    thresholds = [10, 20, 28]
    assert rules.bonuses_crossed(9, 10, thresholds) == [10]
    assert rules.bonuses_crossed(10, 11, thresholds) == []
    assert rules.bonuses_crossed(0, 28, thresholds) == [10, 20, 28]
    assert rules.bonuses_crossed(27, 28, thresholds) == [28]
    assert rules.bonuses_crossed(28, 29, thresholds) == []
    assert rules.bonuses_crossed(0, 1, [1]) == [1]
    assert rules.bonuses_crossed(5, 5, [5]) == []


# --- make-up days ---------------------------------------------------------------------------


def test_makeup_days_are_missed_days_of_the_cycle_before_today():
    checked = {D(2026, 11, 2), D(2026, 11, 4)}
    got = rules.makeup_days(
        today=D(2026, 11, 6), cycle=rules.MONTHLY, checked=checked, joined=D(2026, 1, 1), used=0, limit=2
    )
    assert got == [D(2026, 11, 1), D(2026, 11, 3), D(2026, 11, 5)]


def test_makeup_days_start_on_the_joining_day():
    got = rules.makeup_days(
        today=D(2026, 11, 6), cycle=rules.MONTHLY, checked=set(), joined=D(2026, 11, 4), used=0, limit=2
    )
    assert got == [D(2026, 11, 4), D(2026, 11, 5)]


def test_no_makeup_days_when_the_limit_is_used_or_makeups_are_off():
    kwargs = {"today": D(2026, 11, 6), "cycle": rules.MONTHLY, "checked": set(), "joined": D(2026, 1, 1)}
    assert rules.makeup_days(**kwargs, used=2, limit=2) == []
    assert rules.makeup_days(**kwargs, used=0, limit=0) == []
    assert rules.makeup_days(**kwargs, used=0, limit=2, enabled=False) == []
    assert len(rules.makeup_days(**kwargs, used=1, limit=2)) == 5


def test_on_the_first_day_of_a_cycle_nothing_can_be_made_up():
    got = rules.makeup_days(
        today=D(2026, 12, 1), cycle=rules.MONTHLY, checked=set(), joined=D(2026, 1, 1), used=0, limit=2
    )
    assert got == []
    weekly = rules.makeup_days(
        today=D(2026, 12, 2), cycle=rules.WEEKLY, checked=set(), joined=D(2026, 1, 1), used=0, limit=2
    )
    assert weekly == [D(2026, 11, 30), D(2026, 12, 1)]


# --- tomorrow -------------------------------------------------------------------------------


def _tomorrow(**kwargs):
    values = {
        "today": D(2026, 11, 10),
        "streak_today": 0,
        "checked_today": False,
        "count_in_cycle": 0,
        "table": {7: 10},
        "bonuses": {10: 30},
        "base": 5,
        "cycle": rules.MONTHLY,
        "reset": rules.RESET_ON_MISSED_DAY,
        "after_table": rules.KEEP_LAST,
    }
    return rules.tomorrow_gives(**{**values, **kwargs})


def test_tomorrow_after_checking_in_today():
    got = _tomorrow(streak_today=6, checked_today=True, count_in_cycle=6)
    assert got == rules.Tomorrow(D(2026, 11, 11), 7, 10, 0)


def test_tomorrow_assumes_today_is_checked_in_first():
    got = _tomorrow(streak_today=5, checked_today=False, count_in_cycle=5)
    assert got == rules.Tomorrow(D(2026, 11, 11), 7, 10, 0)


def test_tomorrow_includes_the_cycle_bonus_it_reaches():
    got = _tomorrow(streak_today=2, checked_today=True, count_in_cycle=9)
    assert got == rules.Tomorrow(D(2026, 11, 11), 3, 5, 30)


def test_tomorrow_in_a_new_cycle_counts_from_zero_and_may_restart_the_streak():
    keep = _tomorrow(today=D(2026, 11, 30), streak_today=9, checked_today=True, count_in_cycle=9)
    assert keep == rules.Tomorrow(D(2026, 12, 1), 10, 10, 0)
    restart = _tomorrow(
        today=D(2026, 11, 30), streak_today=9, checked_today=True, count_in_cycle=9, reset=rules.RESET_ON_CYCLE
    )
    assert restart == rules.Tomorrow(D(2026, 12, 1), 1, 5, 0)


def test_tomorrow_gives_applies_a_boost_to_the_daily_points_not_the_bonus():
    from decimal import Decimal as D

    from tasks.rules.checkin import tomorrow_gives

    args = {
        "today": date(2026, 1, 14),
        "streak_today": 0,
        "checked_today": True,
        "count_in_cycle": 1,
        "table": {},
        "bonuses": {2: 20},
        "base": 5,
        "cycle": "monthly",
        "reset": "missed_day",
        "after_table": "keep_last",
    }
    plain = tomorrow_gives(**args)
    boosted = tomorrow_gives(**args, multiplier=D("1.5"))
    assert (plain.points, plain.bonus, plain.multiplier) == (5, 20, None)
    assert (boosted.points, boosted.bonus, boosted.multiplier) == (7, 20, D("1.5"))
