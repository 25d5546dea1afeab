"""The business clock: the mall's days are dates in TIME_ZONE, whatever zone a moment is in."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
