"""The pure date math of the ledger: when points expire and in what order they are spent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from points import rules
from points.enums import ExpiryMode, ExpiryRounding

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT = rules.ExpiryRule()


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def test_the_default_rule_is_twelve_rolling_months_to_the_end_of_the_day():
    assert rules.ExpiryRule(mode=ExpiryMode.ROLLING_MONTHS, months=12, rounding=ExpiryRounding.END_OF_DAY) == DEFAULT


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (at(2024, 1, 15, 10, 30), 1, at(2024, 2, 15, 10, 30)),
        (at(2024, 1, 31, 8), 1, at(2024, 2, 29, 8)),
        (at(2023, 1, 31, 8), 1, at(2023, 2, 28, 8)),
        (at(2024, 2, 29, 12), 12, at(2025, 2, 28, 12)),
        (at(2024, 2, 29, 12), 48, at(2028, 2, 29, 12)),
        (at(2023, 3, 31, 12), 11, at(2024, 2, 29, 12)),
        (at(2024, 11, 30, 12), 3, at(2025, 2, 28, 12)),
        (at(2024, 12, 31, 23, 59, 59), 1, at(2025, 1, 31, 23, 59, 59)),
        (at(2024, 5, 31), 24, at(2026, 5, 31)),
    ],
)
def test_add_months_keeps_the_wall_clock_time_and_clamps_to_the_last_day(moment, months, expected):
    assert rules.add_months(moment, months) == expected


def test_rolling_months_end_at_the_next_local_midnight_after_the_same_day():
    assert rules.expiry_for(at(2024, 6, 10, 14, 5), DEFAULT, SHANGHAI) == at(2025, 6, 11)


def test_rolling_months_without_rounding_is_the_exact_instant():
    rule = rules.ExpiryRule(months=6, rounding=ExpiryRounding.NONE)
    assert rules.expiry_for(at(2024, 6, 10, 14, 5, 7, 123), rule, SHANGHAI) == at(2024, 12, 10, 14, 5, 7, 123)


@pytest.mark.parametrize(
    ("earned", "months", "expected"),
    [
        (at(2024, 6, 10, 14), 12, at(2025, 7, 1)),
        (at(2024, 1, 1, 0), 11, at(2025, 1, 1)),
        (at(2024, 12, 31, 23, 59), 1, at(2025, 2, 1)),
        (at(2024, 2, 29, 9), 12, at(2025, 3, 1)),
    ],
)
def test_rolling_months_rounded_to_the_end_of_the_month(earned, months, expected):
    rule = rules.ExpiryRule(months=months, rounding=ExpiryRounding.END_OF_MONTH)
    assert rules.expiry_for(earned, rule, SHANGHAI) == expected


def test_leap_day_plus_twelve_months_lasts_through_the_28th_of_february():
    expires = rules.expiry_for(at(2024, 2, 29, 9), DEFAULT, SHANGHAI)
    assert expires == at(2025, 3, 1)
    assert rules.last_valid_day(expires, SHANGHAI) == date(2025, 2, 28)


def test_the_31st_plus_eleven_months_lands_on_a_leap_day():
    expires = rules.expiry_for(at(2023, 3, 31, 9), rules.ExpiryRule(months=11), SHANGHAI)
    assert expires == at(2024, 3, 1)
    assert rules.last_valid_day(expires, SHANGHAI) == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("earned", "expected"),
    [
        (at(2024, 1, 1, 0, 0), at(2025, 1, 1)),
        (at(2024, 6, 30, 12), at(2025, 1, 1)),
        (at(2024, 12, 31, 23, 59, 59), at(2025, 1, 1)),
        (at(2025, 1, 1, 0, 0), at(2026, 1, 1)),
    ],
)
def test_calendar_year_end_expires_at_the_next_local_new_year(earned, expected):
    rule = rules.ExpiryRule(mode=ExpiryMode.CALENDAR_YEAR_END)
    assert rules.expiry_for(earned, rule, SHANGHAI) == expected


def test_calendar_year_end_uses_the_business_year_not_the_servers_utc_year():
    # 2024-12-31 16:30 UTC is already 2025-01-01 00:30 in Shanghai.
    earned = datetime(2024, 12, 31, 16, 30, tzinfo=UTC)
    rule = rules.ExpiryRule(mode=ExpiryMode.CALENDAR_YEAR_END)
    assert rules.expiry_for(earned, rule, SHANGHAI) == at(2026, 1, 1)


@pytest.mark.parametrize("rounding", list(ExpiryRounding))
def test_never_mode_has_no_expiry(rounding):
    rule = rules.ExpiryRule(mode=ExpiryMode.NEVER, rounding=rounding)
    assert rules.expiry_for(at(2024, 2, 29, 23, 59), rule, SHANGHAI) is None


def test_one_second_before_midnight_and_midnight_are_different_business_days():
    before = rules.expiry_for(at(2024, 3, 9, 23, 59, 59), DEFAULT, SHANGHAI)
    after = rules.expiry_for(at(2024, 3, 10, 0, 0, 0), DEFAULT, SHANGHAI)
    assert before == at(2025, 3, 10)
    assert after == at(2025, 3, 11)
    assert after - before == timedelta(days=1)


def test_the_business_date_wins_over_the_servers_utc_date():
    # 16:30 UTC on the 9th is 00:30 on the 10th in Shanghai: the points belong to the 10th.
    earned = datetime(2024, 3, 9, 16, 30, tzinfo=UTC)
    expires = rules.expiry_for(earned, DEFAULT, SHANGHAI)
    assert expires == at(2025, 3, 11)
    assert expires == datetime(2025, 3, 10, 16, 0, tzinfo=UTC)
    assert rules.last_valid_day(expires, SHANGHAI) == date(2025, 3, 10)


def test_the_expiry_is_returned_in_the_business_zone_whatever_the_input_zone():
    expires = rules.expiry_for(datetime(2024, 3, 9, 3, 0, tzinfo=UTC), DEFAULT, SHANGHAI)
    assert expires.utcoffset() == timedelta(hours=8)


def test_end_of_day_in_another_business_zone_follows_its_daylight_saving_offset():
    new_york = ZoneInfo("America/New_York")
    # 03:00 UTC on 10 March 2024 is still the evening of the 9th in New York (EST, -5).
    expires = rules.expiry_for(datetime(2024, 3, 10, 3, 0, tzinfo=UTC), DEFAULT, new_york)
    assert expires == datetime(2025, 3, 10, 0, 0, tzinfo=new_york)
    # Daylight saving started on 9 March 2025, so that midnight is -4.
    assert expires == datetime(2025, 3, 10, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_at", "last_day"),
    [
        (at(2025, 3, 1), date(2025, 2, 28)),
        (at(2025, 3, 1, 0, 0, 0, 1), date(2025, 3, 1)),
        (at(2025, 3, 1, 12), date(2025, 3, 1)),
        (datetime(2025, 2, 28, 16, 0, tzinfo=UTC), date(2025, 2, 28)),
        (datetime(2025, 2, 28, 15, 59, tzinfo=UTC), date(2025, 2, 28)),
    ],
)
def test_last_valid_day_is_the_day_before_an_exclusive_midnight(expires_at, last_day):
    assert rules.last_valid_day(expires_at, SHANGHAI) == last_day


@pytest.mark.parametrize(
    ("lots", "amount", "takes"),
    [
        ([(1, 50), (2, 30)], 20, [(1, 20)]),
        ([(1, 50), (2, 30)], 50, [(1, 50)]),
        ([(1, 50), (2, 30)], 60, [(1, 50), (2, 10)]),
        ([(1, 50), (2, 30)], 80, [(1, 50), (2, 30)]),
        ([(1, 0), (2, 30), (3, 5)], 32, [(2, 30), (3, 2)]),
        ([(7, 10), (3, 10)], 15, [(7, 10), (3, 5)]),
        ([(1, 10)], 0, []),
        ([], 0, []),
    ],
)
def test_take_fifo_takes_in_the_given_order_and_skips_empty_lots(lots, amount, takes):
    assert rules.take_fifo(lots, amount) == takes


def test_take_fifo_takes_what_there_is_when_the_lots_fall_short():
    # The caller checks coverage; the rule never invents points.
    assert rules.take_fifo([(1, 5), (2, 3)], 20) == [(1, 5), (2, 3)]
