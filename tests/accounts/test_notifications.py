"""The notifications inbox: sending (with dedupe), reading, the page, and the points-expiry reminder."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from accounts import selectors, services
from accounts.enums import NotificationKind
from accounts.exceptions import InvalidNotificationError, NotificationNotFoundError
from accounts.models import Notification, User
from points import selectors as points_selectors
from points import services as points_services
from points.models import Lot

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 5, 10, tzinfo=SHANGHAI)


def send(user, title="Hello", **kwargs) -> int:
    return services.notification_send(
        user_id=user.pk,
        kind=kwargs.pop("kind", NotificationKind.ANNOUNCEMENT),
        title=title,
        body=kwargs.pop("body", "Body"),
        **kwargs,
    )


def inbox_rows(user) -> list[tuple]:
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("title", "read_at"))


# ---------- services and selectors ----------


def test_send_puts_a_message_in_the_inbox(member):
    with time_machine.travel(T0, tick=False):
        pk = services.notification_send(
            user_id=member.pk,
            kind=NotificationKind.ORDER,
            title=" Shipped ",
            body="Your order left the warehouse.",
            link="/orders/7/",
        )
    row = (
        Notification.objects.filter(pk=pk)
        .values("user_id", "kind", "title", "body", "link", "created_at", "read_at", "dedupe_key")
        .get()
    )
    assert row == {
        "user_id": member.pk,
        "kind": "order",
        "title": "Shipped",
        "body": "Your order left the warehouse.",
        "link": "/orders/7/",
        "created_at": T0,
        "read_at": None,
        "dedupe_key": None,
    }


def test_without_a_dedupe_key_each_send_is_a_message(member):
    send(member)
    send(member)
    assert Notification.objects.filter(user=member).count() == 2


def test_a_retried_send_with_the_same_dedupe_key_sends_once(member):
    first = send(member, dedupe_key="job:42")
    second = send(member, title="Something else", dedupe_key="job:42")
    assert first == second
    assert inbox_rows(member) == [("Hello", None)]


def test_dedupe_keys_are_per_member(member, other_member):
    send(member, dedupe_key="job:42")
    send(other_member, dedupe_key="job:42")
    assert Notification.objects.count() == 2


def test_a_concurrent_duplicate_insert_returns_the_first_message(member, monkeypatch):
    first = send(member, dedupe_key="race")
    # Simulate losing the race: the existence check misses, the unique constraint catches it.
    real_filter = Notification.objects.filter
    calls = {"n": 0}

    def filter_missing_once(*args, **kwargs):
        calls["n"] += 1
        query = real_filter(*args, **kwargs)
        return query.none() if calls["n"] == 1 else query

    monkeypatch.setattr(Notification.objects, "filter", filter_missing_once)
    with transaction.atomic():
        assert send(member, dedupe_key="race") == first
    monkeypatch.undo()
    assert Notification.objects.filter(user=member).count() == 1


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"kind": "spam"}, "unknown kind 'spam'"),
        ({"title": "   "}, "the title must be 1 to 120 characters"),
        ({"title": "t" * 121}, "the title must be 1 to 120 characters"),
        ({"body": "b" * 2001}, "the body may be at most 2000 characters"),
        ({"link": "https://evil.example/"}, "the link must be a path on this site, like /points/"),
        ({"link": "//evil.example/"}, "the link must be a path on this site, like /points/"),
        ({"link": "javascript:alert(1)"}, "the link must be a path on this site, like /points/"),
        ({"link": "/\\evil.example/"}, "the link must be a path on this site, like /points/"),
        ({"link": "/points/\n"}, "the link must be a path on this site, like /points/"),
        ({"link": "/" + "p" * 300}, "the link must be a path on this site, like /points/"),
    ],
)
def test_send_refuses_invalid_messages_and_writes_nothing(member, kwargs, reason):
    with pytest.raises(InvalidNotificationError) as refused:
        send(member, **kwargs)
    assert refused.value.message == f"The message is not valid: {reason}"
    assert inbox_rows(member) == []


def test_mark_read_is_safe_twice_and_keeps_the_first_time(member):
    pk = send(member, link="/points/")
    with time_machine.travel(T0, tick=False):
        assert services.notification_mark_read(user_id=member.pk, notification_id=pk) == "/points/"
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        services.notification_mark_read(user_id=member.pk, notification_id=pk)
    assert inbox_rows(member) == [("Hello", T0)]


def test_mark_read_refuses_another_members_message(member, other_member):
    pk = send(other_member)
    with pytest.raises(NotificationNotFoundError):
        services.notification_mark_read(user_id=member.pk, notification_id=pk)
    assert inbox_rows(other_member) == [("Hello", None)]


def test_mark_all_read_touches_only_the_members_unread_messages(member, other_member):
    send(member, title="a")
    send(member, title="b")
    send(other_member, title="theirs")
    with time_machine.travel(T0, tick=False):
        assert services.notifications_mark_all_read(user_id=member.pk) == 2
    assert services.notifications_mark_all_read(user_id=member.pk) == 0
    assert inbox_rows(member) == [("a", T0), ("b", T0)]
    assert inbox_rows(other_member) == [("theirs", None)]


def test_unread_count_and_list_newest_first(member, other_member):
    for i in range(3):
        with time_machine.travel(T0 + timedelta(minutes=i), tick=False):
            send(member, title=f"m{i}")
    send(other_member, title="theirs")
    services.notification_mark_read(user_id=member.pk, notification_id=Notification.objects.get(title="m0").pk)
    assert selectors.notification_unread_count(user_id=member.pk) == 2
    page = selectors.notification_list(user_id=member.pk)
    assert [(n.title, n.is_read) for n in page.object_list] == [("m2", False), ("m1", False), ("m0", True)]
    assert page.object_list[0].kind_label == "Announcements"


# ---------- the page ----------


def test_inbox_requires_login(client):
    response = client.get(reverse("inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_empty_inbox(member_client):
    body = member_client.get(reverse("inbox")).content.decode()
    assert 'data-testid="inbox-empty"' in body
    assert "0 unread messages" in body


def test_inbox_lists_newest_first_with_unread_highlighted(member_client, member, other_member):
    with time_machine.travel(T0, tick=False):
        older = send(member, title="Older news")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        send(member, title="Newer news", body="Line one\nLine <b>two</b>")
    send(other_member, title="Not yours")
    services.notification_mark_read(user_id=member.pk, notification_id=older)
    body = member_client.get(reverse("inbox")).content.decode()
    assert 'data-testid="inbox"' in body
    assert body.index("Newer news") < body.index("Older news")
    assert body.count('data-read="false"') == 1
    assert body.count('data-read="true"') == 1
    assert body.count("inbox-item is-unread") == 1
    assert "Line one<br>Line &lt;b&gt;two&lt;/b&gt;" in body
    assert "Not yours" not in body
    assert "1 unread message" in body
    assert "Mark all as read" in body


def test_inbox_is_paginated_by_20(member_client, member):
    for i in range(25):
        with time_machine.travel(T0 + timedelta(minutes=i), tick=False):
            send(member, title=f"Message {i:02d}")
    first = member_client.get(reverse("inbox")).content.decode()
    assert first.count('data-testid="inbox-item"') == 20
    assert "Message 24" in first
    assert "Page 1 of 2" in first
    second = member_client.get(reverse("inbox"), {"page": 2}).content.decode()
    assert second.count('data-testid="inbox-item"') == 5
    assert "Message 00" in second
    # A page number that is not a number or out of range shows a real page, not an error.
    assert member_client.get(reverse("inbox"), {"page": "x"}).status_code == 200
    assert member_client.get(reverse("inbox"), {"page": 999}).context["page"].number == 2


def test_mark_all_read_button(member_client, member):
    send(member, title="a")
    send(member, title="b")
    response = member_client.post(reverse("inbox_mark_all_read"), follow=True)
    assert response.redirect_chain == [(reverse("inbox"), 302)]
    assert "All messages are marked as read." in response.content.decode()
    assert selectors.notification_unread_count(user_id=member.pk) == 0


def test_mark_all_read_refuses_get(member_client, member):
    send(member)
    assert member_client.get(reverse("inbox_mark_all_read")).status_code == 405
    assert selectors.notification_unread_count(user_id=member.pk) == 1


def test_view_marks_read_and_follows_the_link(member_client, member):
    pk = send(member, link="/points/")
    response = member_client.post(reverse("inbox_mark_read", args=[pk]), {"go": "link"})
    assert response.status_code == 302
    assert response["Location"] == "/points/"
    assert selectors.notification_unread_count(user_id=member.pk) == 0


def test_a_stored_offsite_link_is_never_followed(member_client, member):
    # A row written around the service (e.g. by hand in the database) still cannot redirect off-site.
    bad = Notification.objects.create(user=member, kind=NotificationKind.ACCOUNT, title="Bad", link="//evil.example/")
    response = member_client.post(reverse("inbox_mark_read", args=[bad.pk]), {"go": "link"})
    assert response["Location"] == reverse("inbox")
    assert selectors.notification_unread_count(user_id=member.pk) == 0


def test_mark_as_read_returns_to_the_inbox(member_client, member):
    pk = send(member, link="/points/")
    response = member_client.post(reverse("inbox_mark_read", args=[pk]), {"go": "inbox"})
    assert response["Location"] == reverse("inbox")
    assert selectors.notification_unread_count(user_id=member.pk) == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_members_message_is_404_and_stays_unread(member_client, other_member, method):
    pk = send(other_member, title="Theirs", link="/points/")
    response = getattr(member_client, method)(reverse("inbox_mark_read", args=[pk]), {"go": "link"})
    assert response.status_code == (404 if method == "post" else 405)
    assert inbox_rows(other_member) == [("Theirs", None)]


def test_the_account_nav_shows_the_unread_count(member_client, member):
    send(member)
    send(member)
    body = member_client.get(reverse("profile")).content.decode()
    assert 'data-testid="nav-unread-count"' in body
    assert 'aria-label="2 unread messages">2</span>' in body


# ---------- points expiry reminder ----------


def earn_expiring(user, amount: int, expires_at: datetime, key: str) -> None:
    points_services.points_earn(user_id=user.pk, amount=amount, idempotency_key=key, expires_at=expires_at)


def reminders(user) -> list[dict]:
    """The member's reminders as read now (in the active language), with what is stored."""
    return [
        {"title": n.text().title, "body": n.text().body, "link": n.link, "read_at": n.read_at, "key": n.dedupe_key}
        for n in Notification.objects.filter(user=user, message_code="accounts.expiry_reminder").order_by("pk")
    ]


def test_expiry_reminder_lands_in_the_inbox_once(member):
    with time_machine.travel(T0, tick=False):
        earn_expiring(member, 120, datetime(2027, 1, 1, tzinfo=SHANGHAI), "e1")
        assert points_services.points_send_expiry_reminders() == 1
        assert points_services.points_send_expiry_reminders() == 0
    first_lot = Lot.objects.get(account__user=member).pk
    assert reminders(member) == [
        {
            "title": "120 points expire on 2026-12-31",
            "body": "Spend them by the end of 2026-12-31, or they expire. Your points page lists what expires when.",
            "link": "/points/",
            "read_at": None,
            "key": f"points.expiry_reminder:{first_lot}",
        }
    ]
    stored = Notification.objects.values("message_code", "params", "title", "body").get(user=member)
    assert stored == {
        "message_code": "accounts.expiry_reminder",
        "params": {"points": 120, "dates": [["2026-12-31", 120]]},
        "title": "",
        "body": "",
    }


def test_expiry_reminder_says_point_and_it_for_one(member):
    with time_machine.travel(T0, tick=False):
        earn_expiring(member, 1, datetime(2026, 12, 20, 12, tzinfo=SHANGHAI), "e1")
        points_services.points_send_expiry_reminders()
    [reminder] = reminders(member)
    assert (reminder["title"], reminder["body"]) == (
        "1 point expires on 2026-12-20",
        "Spend it by the end of 2026-12-20, or it expires. Your points page lists what expires when.",
    )


def test_points_expiring_on_different_days_are_listed_per_day_not_added_under_the_first(member):
    # The report: "1209 points expire on 12-10" when 459 expire on 12-10 and 750 on 12-20.
    with time_machine.travel(T0, tick=False):
        earn_expiring(member, 459, datetime(2026, 12, 11, tzinfo=SHANGHAI), "e1")
        earn_expiring(member, 750, datetime(2026, 12, 21, tzinfo=SHANGHAI), "e2")
        assert points_services.points_send_expiry_reminders() == 1
    [reminder] = reminders(member)
    assert reminder["title"] == "1209 points expire between 2026-12-10 and 2026-12-20"
    assert reminder["body"] == (
        "2026-12-10: 459 points\n"
        "2026-12-20: 750 points\n"
        "Spend them by the end of each day, or they expire. Your points page lists what expires when."
    )
    assert balance_summary_days(member) == [("2026-12-10", 459), ("2026-12-20", 750)]


def balance_summary_days(user) -> list[tuple[str, int]]:
    summary = points_selectors.balance_summary(user_id=user.pk)
    return [(e.expires_on.isoformat(), e.points) for e in summary.expiring]


def test_a_later_reminder_for_the_same_day_states_every_point_expiring_that_day(member):
    with time_machine.travel(T0, tick=False):
        earn_expiring(member, 100, datetime(2027, 1, 1, tzinfo=SHANGHAI), "e1")
        points_services.points_send_expiry_reminders()
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        # Another lot that expires the same day: its reminder says what will expire that day in all.
        earn_expiring(member, 40, datetime(2027, 1, 1, tzinfo=SHANGHAI), "e2")
        assert points_services.points_send_expiry_reminders() == 1
    titles = [r["title"] for r in reminders(member)]
    assert titles == ["100 points expire on 2026-12-31", "140 points expire on 2026-12-31"]
    # Each reminder has its own key (its first lot), so the second is not swallowed as a repeat.
    assert len({r["key"] for r in reminders(member)}) == 2


def test_a_rerun_after_a_rolled_back_run_sends_the_reminder_once(member):
    with time_machine.travel(T0, tick=False):
        earn_expiring(member, 120, datetime(2027, 1, 1, tzinfo=SHANGHAI), "e1")
        with pytest.raises(RuntimeError), transaction.atomic():
            points_services.points_send_expiry_reminders()
            raise RuntimeError("the worker died before commit")
        assert Notification.objects.filter(user=member).count() == 0
        assert points_services.points_send_expiry_reminders() == 1
        assert points_services.points_send_expiry_reminders() == 0
    assert [r["title"] for r in reminders(member)] == ["120 points expire on 2026-12-31"]


def test_points_outside_the_reminder_window_send_nothing(member):
    with time_machine.travel(T0, tick=False):
        earn_expiring(member, 50, datetime(2027, 3, 1, tzinfo=SHANGHAI), "e1")
        assert points_services.points_send_expiry_reminders() == 0
    assert inbox_rows(member) == []


def test_the_reminder_is_read_in_the_readers_language(member):
    User.objects.filter(pk=member.pk).update(language="zh-hans")
    with time_machine.travel(T0, tick=False):
        earn_expiring(member, 120, datetime(2027, 1, 1, tzinfo=SHANGHAI), "e1")
        points_services.points_send_expiry_reminders()
    with translation.override("zh-hans"):
        chinese = reminders(member)[0]["title"]
    english = reminders(member)[0]["title"]
    assert (chinese, english) == ("120积分将于2026-12-31过期", "120 points expire on 2026-12-31")
