"""A large earning puts a message in the member's inbox (issue #12, "Events"): the ledger sends
``points_earned`` inside its transaction, accounts composes the message (NOTIFY_POINTS_EARNED_MIN)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from accounts.enums import NotificationKind
from accounts.models import Notification
from points import notices as points_notices
from points import services as points_services
from points.enums import EarningSource
from points.exceptions import InvalidAmountError
from points.models import Entry
from tests.factories import MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI)
CODE = "accounts.points_earned"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def member(db):
    return MemberFactory()


def earned_messages(member) -> list[Notification]:
    return list(Notification.objects.filter(user=member, message_code=CODE).order_by("pk"))


def read(message: Notification, language: str = "en") -> tuple[str, str]:
    with translation.override(language):
        text = message.text()
    return text.title, text.body


def earn(member, amount: int, *, key: str = "k1", **fields):
    return points_services.points_earn(user_id=member.pk, amount=amount, idempotency_key=key, **fields)


def test_a_large_earning_is_told_with_what_it_was_for(member):
    receipt = earn(
        member, 800, key="purchase:A-1", **points_notices.Notice(points_notices.PURCHASE, {"order": "A-1"}).memo
    )

    [message] = earned_messages(member)
    assert message.kind == NotificationKind.POINTS
    assert message.transactional is False
    assert message.link == "/points/"
    assert message.dedupe_key == f"points.earned:{receipt.entry_id}"
    assert read(message) == (
        "You earned 800 points",
        "For: Purchase A-1\nThey are in your balance now. Spend them in the mall.",
    )
    zh_title, zh_body = read(message, "zh-hans")
    assert "800" in zh_title
    assert "A-1" in zh_body


def test_pending_points_say_when_they_can_be_spent(member):
    result = points_services.purchase_record(user_id=member.pk, external_id="SHOP-9", amount=Decimal("900.00"))
    assert result.points >= 500

    purchase = [m for m in earned_messages(member) if "Purchase SHOP-9" in read(m)[1]]
    assert len(purchase) == 1
    title, body = read(purchase[0])
    assert title == f"You earned {result.points} points"
    day = result.available_at.astimezone(SHANGHAI).date().isoformat()
    assert body == f"For: Purchase SHOP-9\nThey are pending until {day}, then you can spend them."
    assert day in read(purchase[0], "zh-hans")[1]


def test_below_the_threshold_nothing_is_told(member, settings):
    settings.NOTIFY_POINTS_EARNED_MIN = 500
    earn(member, 499)
    assert earned_messages(member) == []
    earn(member, 500, key="k2")
    assert len(earned_messages(member)) == 1


def test_the_threshold_is_a_setting(member, settings):
    settings.NOTIFY_POINTS_EARNED_MIN = 50
    earn(member, 60)
    assert read(earned_messages(member)[0])[0] == "You earned 60 points"


def test_the_same_earning_replayed_is_one_message(member):
    earn(member, 800, key="same")
    earn(member, 800, key="same")
    assert len(earned_messages(member)) == 1
    assert Entry.objects.filter(idempotency_key="same").count() == 1


def test_an_operators_large_adjustment_is_told_a_deduction_is_not(member):
    operator = StaffFactory()
    points_services.points_adjust(
        user_id=member.pk, amount=1000, reason="Goodwill", actor_id=operator.pk, idempotency_key="adj-1"
    )
    assert read(earned_messages(member)[0]) == (
        "You earned 1000 points",
        "For: Added by the mall: Goodwill\nThey are in your balance now. Spend them in the mall.",
    )
    points_services.points_adjust(
        user_id=member.pk, amount=-900, reason="Correction", actor_id=operator.pk, idempotency_key="adj-2"
    )
    assert len(earned_messages(member)) == 1


def test_earnings_that_have_their_own_message_are_not_told_twice(member):
    earn(member, 900, key="lb", source=EarningSource.LEADERBOARD)
    earn(member, 900, key="signup", source=EarningSource.SIGNUP)
    assert earned_messages(member) == []


def test_a_refused_earning_writes_nothing(member):
    with pytest.raises(InvalidAmountError):
        earn(member, 0)
    assert earned_messages(member) == []
    assert Notification.objects.filter(user=member).count() == 0
