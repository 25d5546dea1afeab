"""The business clock: the mall's days are dates in TIME_ZONE, whatever zone a moment is in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from pointsmall.kernel import clock


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_a_utc_evening_is_the_next_business_day_in_shanghai():
    late_utc = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 December in Shanghai
    assert clock.business_date(late_utc) == date(2026, 12, 1)


@override_settings(TIME_ZONE="Europe/London")
def test_the_same_moment_is_still_the_same_day_in_london():
    late_utc = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    assert clock.business_date(late_utc) == date(2026, 11, 30)


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_a_business_day_starts_at_midnight_in_the_business_zone():
    start = clock.business_day_start(date(2026, 12, 1))
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert clock.business_date(start) == date(2026, 12, 1)


@override_settings(TIME_ZONE="Asia/Shanghai")
@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), "2026-11-30 23:59"),
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "2026-12-01 00:00"),
        (None, ""),
    ],
)
def test_minute_text_shows_the_business_clock_to_the_minute(moment, text):
    assert clock.minute_text(moment) == text


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_business_periods_start_at_local_midnight_monday_and_first():
    moment = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 2026-03-02 00:30 in Shanghai (a Monday)
    assert clock.period_start(moment, "day", SHANGHAI) == datetime(2026, 3, 2, tzinfo=SHANGHAI)
    assert clock.period_start(moment, "week", SHANGHAI) == datetime(2026, 3, 2, tzinfo=SHANGHAI)
    assert clock.period_start(moment, "month", SHANGHAI) == datetime(2026, 3, 1, tzinfo=SHANGHAI)


def test_month_start_is_midnight_on_the_first_in_the_business_time_zone():
    # 2026-12-31 16:30 UTC is already 1 January 00:30 in Shanghai.
    now = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert clock.period_start(now, "month", SHANGHAI) == datetime(2027, 1, 1, tzinfo=SHANGHAI)


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_period_start_defaults_to_the_business_zone():
    now = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert clock.period_start(now, "month") == datetime(2027, 1, 1, tzinfo=SHANGHAI)


def test_period_start_knows_only_day_week_and_month():
    with pytest.raises(ValueError, match="year"):
        clock.period_start(datetime(2026, 1, 1, tzinfo=UTC), "year")


def test_a_timed_privilege_queues_after_the_one_running():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert clock.queued_window(now=now, busy_until=None, days=7) == (now, now + timedelta(days=7))
    later = now + timedelta(days=3)
    assert clock.queued_window(now=now, busy_until=later, days=7) == (later, later + timedelta(days=7))
    # A window that ended already does not delay the new one.
    assert clock.queued_window(now=now, busy_until=now - timedelta(days=1), days=1) == (now, now + timedelta(days=1))
