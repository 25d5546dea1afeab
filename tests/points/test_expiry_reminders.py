"""Expiry reminders: sent once per lot, only for points that can still expire.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from points import services
from points.signals import expiry_reminder_due
from tests.points.helpers import T0, earn, lot_of, spend

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


@pytest.fixture
def reminders():
    sent = []

    def record(sender, user_id, points, expires_on, dates, **kwargs):
        sent.append({"user_id": user_id, "points": points, "expires_on": expires_on, "dates": dates})

    expiry_reminder_due.connect(record)
    yield sent
    expiry_reminder_due.disconnect(record)


def test_expiry_reminders_are_sent_once_per_lot(member, other_member, clock, reminders):
    first = earn(member, 100, "a", expires_at=T0 + timedelta(days=20))
    second = earn(member, 40, "b", expires_at=T0 + timedelta(days=25))
    outside = earn(member, 70, "c", expires_at=T0 + timedelta(days=40))
    other = earn(other_member, 10, "d", expires_at=T0 + timedelta(days=5))

    assert services.points_remind() == 2
    # Each day's points on their own: 100 expire after 01-30 and 40 after 02-04, not 140 on 01-30.
    assert sorted(reminders, key=lambda r: r["user_id"]) == [
        {
            "user_id": member.pk,
            "points": 140,
            "expires_on": date(2025, 1, 30),
            "dates": [(date(2025, 1, 30), 100), (date(2025, 2, 4), 40)],
        },
        {
            "user_id": other_member.pk,
            "points": 10,
            "expires_on": date(2025, 1, 15),
            "dates": [(date(2025, 1, 15), 10)],
        },
    ]
    assert [lot_of(r).reminded_at for r in (first, second, outside, other)] == [T0, T0, None, T0]

    reminders.clear()
    assert services.points_remind() == 0
    assert reminders == []

    clock.move_to(T0 + timedelta(days=15))
    assert services.points_remind() == 1
    assert reminders == [
        {"user_id": member.pk, "points": 70, "expires_on": date(2025, 2, 19), "dates": [(date(2025, 2, 19), 70)]}
    ]


def test_expiry_reminders_skip_spent_and_expired_lots(member, clock, reminders):
    spent = earn(member, 50, "c", expires_at=T0 + timedelta(days=10))
    spend(member, 50, "s")
    lapsed = earn(member, 30, "b", expires_at=T0 + timedelta(days=1))
    earn(member, 100, "a", expires_at=T0 + timedelta(days=20))
    clock.move_to(T0 + timedelta(days=2))

    assert services.points_remind(days=30) == 1
    assert reminders == [
        {"user_id": member.pk, "points": 100, "expires_on": date(2025, 1, 30), "dates": [(date(2025, 1, 30), 100)]}
    ]
    assert [lot_of(r).reminded_at for r in (spent, lapsed)] == [None, None]
