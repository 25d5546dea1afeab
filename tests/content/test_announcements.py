"""Announcements: who sees them (audience), when (window), the inbox fan-out (once), and the
Markdown sanitiser."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from points import services as points_services
from pointsmall.content import jobs, rules, selectors, services
from pointsmall.content.models import Announcement
from tests.content.conftest import member_in
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2026, 3, 2, 10, 0))


def announce(**fields) -> Announcement:
    defaults = {"title_zh": "公告", "title_en": "Notice", "body_zh": "正文", "body_en": "Body", "starts_at": NOW}
    return Announcement.objects.create(**{**defaults, **fields})


def titles(user=None) -> list[str]:
    return [a.title for a in selectors.announcements_for(user_id=user.pk if user else None, now=NOW)]


# --- audience -----------------------------------------------------------------------------------


def test_a_tier_announcement_is_shown_only_to_members_in_that_tier(tiers):
    top, bottom = member_in(tiers[-1]), member_in(tiers[0])
    announce(title_en="Everyone")
    announce(title_en="Top only", tiers=[tiers[-1]])

    assert titles(top) == ["Top only", "Everyone"]  # same start: newest row first
    assert titles(bottom) == ["Everyone"]
    assert titles(None) == ["Everyone"]


def test_pinned_announcements_come_first():
    announce(title_en="Older pinned", pinned=True, starts_at=NOW - timedelta(days=3))
    announce(title_en="Newer", starts_at=NOW - timedelta(days=1))

    assert titles() == ["Older pinned", "Newer"]


def test_a_tier_announcement_page_is_404_for_other_tiers_and_visitors(client, tiers):
    top, bottom = member_in(tiers[-1]), member_in(tiers[0])
    announcement = announce(title_en="Top only", tiers=[tiers[-1]], starts_at=timezone.now() - timedelta(hours=1))
    url = reverse("announcement_detail", args=[announcement.pk])

    assert client.get(url).status_code == 404
    client.force_login(bottom)
    assert client.get(url).status_code == 404
    client.force_login(top)
    response = client.get(url)
    assert response.status_code == 200
    assert "Top only" in response.content.decode()


def test_the_home_page_lists_the_announcements_the_viewer_may_see(client, tiers):
    announce(title_en="For everyone here", pinned=True, starts_at=timezone.now() - timedelta(hours=1))
    announce(title_en="Secret of the top tier", tiers=[tiers[-1]], starts_at=timezone.now() - timedelta(hours=1))

    page = client.get(reverse("home")).content.decode()

    assert "For everyone here" in page
    assert "Secret of the top tier" not in page


# --- window -------------------------------------------------------------------------------------


def test_an_announcement_is_invisible_before_its_start_and_from_its_end():
    announce(title_en="Window", starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=2))

    assert titles() == []
    assert [a.title for a in selectors.announcements_for(user_id=None, now=NOW + timedelta(hours=1))] == ["Window"]
    assert [a.title for a in selectors.announcements_for(user_id=None, now=NOW + timedelta(hours=2))] == []


def test_a_withdrawn_or_ended_announcement_page_is_404(client):
    ended = announce(starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(days=1))
    live = announce(starts_at=timezone.now() - timedelta(days=1))
    services.announcement_withdraw(announcement_id=live.pk)

    assert client.get(reverse("announcement_detail", args=[ended.pk])).status_code == 404
    assert client.get(reverse("announcement_detail", args=[live.pk])).status_code == 404


# --- inbox fan-out ------------------------------------------------------------------------------


def inbox() -> list[tuple[int, str, str, str]]:
    return sorted(
        Notification.objects.filter(kind="announcement").values_list("user_id", "message_code", "dedupe_key", "link")
    )


def test_the_fan_out_waits_for_the_window_then_sends_once_to_the_audience(tiers):
    top, bottom = member_in(tiers[-1]), member_in(tiers[0])
    announcement = announce(title_en="Top news", tiers=[tiers[-1]], starts_at=NOW + timedelta(minutes=5))

    assert services.announcements_publish(now=NOW) == 0
    assert inbox() == []

    assert services.announcements_publish(now=NOW + timedelta(minutes=5)) == 1
    link = reverse("announcement_detail", args=[announcement.pk])
    assert inbox() == [(top.pk, "content.announcement", f"announcement:{announcement.pk}", link)]
    announcement.refresh_from_db()
    assert announcement.published_at == NOW + timedelta(minutes=5)

    assert services.announcements_publish(now=NOW + timedelta(minutes=6)) == 0
    assert inbox() == [(top.pk, "content.announcement", f"announcement:{announcement.pk}", link)]
    assert not Notification.objects.filter(user=bottom).exists()


def test_an_all_members_announcement_reaches_every_active_member_and_the_command_runs_the_job():
    first, second = MemberFactory(), MemberFactory()
    inactive = MemberFactory(is_active=False)
    announcement = announce(starts_at=timezone.now() - timedelta(minutes=1))

    call_command("content_announcements_publish", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("content_announcements_publish", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert [row[0] for row in inbox()] == sorted([first.pk, second.pk])
    assert not Notification.objects.filter(user=inactive).exists()
    announcement.refresh_from_db()
    assert announcement.published_at is not None


def test_the_inbox_message_is_rendered_in_the_readers_language(client):
    member = MemberFactory()
    announce(title_zh="维护通知", title_en="Maintenance", starts_at=timezone.now() - timedelta(minutes=1))
    services.announcements_publish()

    client.force_login(member)
    page = client.get(reverse("inbox")).content.decode()

    assert "Announcement: Maintenance" in page


def test_a_withdrawn_announcement_is_not_sent():
    MemberFactory()
    announcement = announce(starts_at=NOW - timedelta(minutes=1))
    services.announcement_withdraw(announcement_id=announcement.pk)

    with time_machine.travel(NOW, tick=False):
        assert services.announcements_publish() == 0
    assert inbox() == []


# --- Markdown -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "absent"),
    [
        ("<script>alert(1)</script>hello", "alert(1)"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ("<style>body{display:none}</style>", "display:none"),
        ('<p style="color:red" onclick="x()">hi</p>', "onclick"),
        ("<iframe src='https://evil.example'></iframe>", "iframe"),
    ],
)
def test_markdown_drops_scripts_handlers_and_javascript_links(source, absent):
    html = rules.markdown_html(source)

    assert absent not in html
    assert "<script" not in html and "<img" not in html and "style=" not in html


def test_markdown_keeps_the_small_tag_set_and_marks_links():
    html = rules.markdown_html(
        "### Title\n\n**bold** *it* `code`\n\n- one\n\n> quote\n\n[rules](/rules/) [site](https://example.com)"
    )

    assert "<h3>Title</h3>" in html
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert "<li>one</li>" in html and "<blockquote>" in html
    assert '<a href="/rules/" rel="nofollow noopener">rules</a>' in html
    assert '<a href="https://example.com" rel="nofollow noopener">site</a>' in html


def test_the_announcement_page_shows_sanitised_html(client):
    announcement = announce(
        body_en="**Hi** <script>alert('x')</script>[bad](javascript:alert(1))",
        starts_at=timezone.now() - timedelta(minutes=1),
    )

    page = client.get(reverse("announcement_detail", args=[announcement.pk])).content.decode()

    assert "<strong>Hi</strong>" in page
    assert "alert('x')" not in page and "javascript:alert" not in page


def test_a_running_tier_trial_counts_for_the_audience(tiers):
    trial = member_in(tiers[0])
    points_services.tier_trial_grant(user_id=trial.pk, tier_code=tiers[-1], days=7, idempotency_key="trial-1")
    announcement = announce(title_en="Top only", tiers=[tiers[-1]], starts_at=timezone.now() - timedelta(minutes=1))

    assert [a.title for a in selectors.announcements_for(user_id=trial.pk)] == ["Top only"]
    assert services.announcements_publish() == 1
    assert inbox() == [
        (trial.pk, "content.announcement", f"announcement:{announcement.pk}", announcement.get_absolute_url())
    ]


def test_the_celery_job_publishes_due_announcements():
    member = MemberFactory()
    announce(starts_at=timezone.now() - timedelta(minutes=1))

    assert jobs.announcements_publish.apply().get() == 1
    assert jobs.announcements_publish.apply().get() == 0
    assert [row[0] for row in inbox()] == [member.pk]


def announcement_form(**overrides) -> dict:
    return {
        "title_zh": "会员日",
        "title_en": "Member day",
        "body_zh": "**欢迎**",
        "body_en": "**Welcome**",
        "starts_at_0": "2026-03-02",
        "starts_at_1": "10:00:00",
        "ends_at_0": "",
        "ends_at_1": "",
        "active": "on",
        **overrides,
    }


def test_an_operator_publishes_a_tier_announcement_in_the_admin(admin_client, operator, tiers):
    response = admin_client.post(
        reverse("admin:content_announcement_add"), {**announcement_form(), "tiers": [tiers[-1]], "pinned": "on"}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    announcement = Announcement.objects.get()
    assert (announcement.tiers, announcement.pinned, announcement.created_by_id) == ([tiers[-1]], True, operator.pk)
    page = admin_client.get(reverse("admin:content_announcement_change", args=[announcement.pk])).content.decode()
    assert "<strong>欢迎</strong>" in page


def test_the_admin_refuses_an_end_before_the_start_and_writes_nothing(admin_client):
    response = admin_client.post(
        reverse("admin:content_announcement_add"),
        announcement_form(ends_at_0="2026-03-01", ends_at_1="10:00:00"),
    )

    assert response.status_code == 200
    assert "It must end after it starts." in response.content.decode()
    assert not Announcement.objects.exists()


def test_staff_accounts_are_not_in_an_announcements_audience(tiers):
    member = MemberFactory()
    staff = MemberFactory(is_staff=True)
    superuser = MemberFactory(is_superuser=True)
    for_everyone = announce(starts_at=NOW)
    for_the_entry_tier = announce(starts_at=NOW, tiers=[tiers[0]])

    services.announcements_publish(now=NOW + timedelta(minutes=1))

    assert [row[0] for row in inbox()] == [member.pk, member.pk]
    assert not Notification.objects.filter(user__in=[staff, superuser]).exists()
    assert {for_everyone.pk, for_the_entry_tier.pk} == set(
        Announcement.objects.filter(published_at__isnull=False).values_list("pk", flat=True)
    )


def test_the_add_form_starts_now_so_saving_it_untouched_publishes_now(admin_client):
    page = admin_client.get(reverse("admin:content_announcement_add"))
    starts = page.context["adminform"].form["starts_at"].value()
    assert starts is not None and abs(timezone.now() - starts) < timedelta(minutes=1)

    # What the page shows is what it posts back: the operator touched neither field.
    local = timezone.localtime(starts)
    fields = announcement_form(starts_at_0=local.strftime("%Y-%m-%d"), starts_at_1=local.strftime("%H:%M:%S"))
    assert admin_client.post(reverse("admin:content_announcement_add"), fields).status_code == 302
    announcement = Announcement.objects.get()
    assert announcement.starts_at <= timezone.now()
    assert selectors.announcements_for(user_id=None)[0].id == announcement.pk


def test_the_change_form_keeps_the_saved_start(admin_client):
    announcement = announce(starts_at=NOW)
    page = admin_client.get(reverse("admin:content_announcement_change", args=[announcement.pk]))
    assert page.context["adminform"].form["starts_at"].value() == NOW
