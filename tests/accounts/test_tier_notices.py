"""Tier notices in the inbox: upgrade, downgrade and the warning before a downgrade, in the member's language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine
from django.utils import translation

from accounts.models import Notification
from points import services as points_services
from points.signals import tier_changed, tier_downgrade_warning

SHANGHAI = ZoneInfo("Asia/Shanghai")


def inbox(user) -> list[tuple[str, str, str]]:
    """(title, body, link) of each message, oldest first, rendered in the active language (the reader's).
    The "you earned N points" message of a large earning is test_points_earned_notice's concern."""
    messages = Notification.objects.filter(user=user).exclude(message_code="accounts.points_earned").order_by("pk")
    return [(n.text().title, n.text().body, n.link) for n in messages]


def test_an_upgrade_congratulates_with_the_new_benefits(member):
    points_services.points_earn(user_id=member.pk, amount=1000, idempotency_key="t:1")
    assert inbox(member) == [
        (
            "Congratulations, you are now Silver",
            "Your benefits: 5% off the points price, earn points ×1.1 and draw 1 free prize a month.",
            "/points/tier/",
        )
    ]


def test_a_jump_of_two_tiers_is_one_message_about_the_tier_reached(member):
    points_services.points_earn(user_id=member.pk, amount=5000, idempotency_key="t:1")
    assert inbox(member) == [
        (
            "Congratulations, you are now Gold",
            "Your benefits: 15% off the points price, earn points ×1.2 and draw 2 free prizes a month.",
            "/points/tier/",
        )
    ]


def test_a_downgrade_says_the_new_tier(member):
    with time_machine.travel(datetime(2025, 1, 15, tzinfo=SHANGHAI), tick=False):
        points_services.points_earn(user_id=member.pk, amount=5000, idempotency_key="t:1")
    with time_machine.travel(datetime(2026, 2, 1, 0, 30, tzinfo=SHANGHAI), tick=False):
        points_services.points_tiers_recalculate()
    assert inbox(member)[-1] == (
        "Your tier is now Silver",
        "Tiers follow the points you earned over the last months. Your tier page shows what it takes to move up again.",
        "/points/tier/",
    )


def test_a_warning_says_how_many_points_by_when_keep_the_tier(member):
    with time_machine.travel(datetime(2025, 6, 20, tzinfo=SHANGHAI), tick=False):
        points_services.points_earn(user_id=member.pk, amount=5200, idempotency_key="t:1")
    with time_machine.travel(datetime(2026, 3, 10, tzinfo=SHANGHAI), tick=False):
        points_services.points_earn(user_id=member.pk, amount=100, idempotency_key="t:2")
    with time_machine.travel(datetime(2026, 6, 20, tzinfo=SHANGHAI), tick=False):
        assert points_services.points_tiers_warn_downgrades() == 1
    assert inbox(member)[-1] == (
        "Earn 4900 more points by 2026-06-30 to keep Gold",
        "Tiers are reviewed on the 1st of each month. Points count once they are available, not while pending.",
        "/points/tier/",
    )


def test_a_repeated_event_sends_one_message(member):
    with time_machine.travel(datetime(2026, 6, 20, tzinfo=SHANGHAI), tick=False):
        for _ in range(2):
            tier_changed.send(sender=None, user_id=member.pk, old_tier="regular", new_tier="silver", change="upgrade")
            tier_downgrade_warning.send(
                sender=None, user_id=member.pk, tier="gold", needed=320, deadline=date(2026, 6, 30)
            )
    assert [title for title, _body, _link in inbox(member)] == [
        "Congratulations, you are now Silver",
        "Earn 320 more points by 2026-06-30 to keep Gold",
    ]


def test_notices_are_read_in_the_readers_language(member):
    member.language = "zh-hans"
    member.save()
    tier_changed.send(sender=None, user_id=member.pk, old_tier="silver", new_tier="gold", change="upgrade")
    tier_downgrade_warning.send(sender=None, user_id=member.pk, tier="gold", needed=320, deadline=date(2026, 6, 30))
    with translation.override("zh-hans"):
        titles = [title for title, _body, _link in inbox(member)]
    # The tier names come from the operators' settings in each language.
    assert titles == ["恭喜您，已成为金牌会员", "请在2026-06-30前再获得320积分，即可保持金牌会员"]
    english = [title for title, _body, _link in inbox(member)]
    assert english == ["Congratulations, you are now Gold", "Earn 320 more points by 2026-06-30 to keep Gold"]


def test_a_tier_removed_since_is_named_by_its_code(member):
    tier_changed.send(sender=None, user_id=member.pk, old_tier="gold", new_tier="platinum", change="downgrade")
    assert inbox(member)[0][0] == "Your tier is now platinum"
