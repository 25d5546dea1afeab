"""The points leaderboard: what counts as earned, the snapshot, exclusions, the page, masking."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from points import selectors as points_selectors
from points import services as points_services
from points.enums import EarningSource
from tasks import services
from tasks.models import Board, LeaderboardExclusion, LeaderboardPolicy, LeaderboardPrize, LeaderboardStanding
from tasks.rules.leaderboard import ALL_TIME_START
from tests.factories import MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)  # a Wednesday
WEEK_START = datetime(2026, 11, 23, 0, 0, tzinfo=SHANGHAI)
_keys = itertools.count()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ledger_stays_consistent(db):
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


def earn(user, amount, *, at=None, **kwargs):
    return points_services.points_earn(
        user_id=user.pk, amount=amount, idempotency_key=f"test:earn:{next(_keys)}", now=at, **kwargs
    )


def standings(board):
    return list(
        LeaderboardStanding.objects.filter(board=board)
        .order_by("rank", "member_id")
        .values_list("rank", "member_id", "points")
    )


# --- What counts as earned ---------------------------------------------------------------------


def test_earned_counts_earns_and_pending_earns_less_what_was_reversed_from_earns(clock, ledger_stays_consistent):
    pending, reversed_whole, reversed_part, spender, adjusted, prize, indebted = (MemberFactory() for _ in range(7))
    earn(pending, 100)
    earn(pending, 50, available_at=NOW + timedelta(days=7))  # pending points count
    whole = earn(reversed_whole, 200)
    points_services.points_reverse(user_id=reversed_whole.pk, earn_entry_id=whole.entry_id, idempotency_key="r1")
    part = earn(reversed_part, 100)
    points_services.points_reverse(
        user_id=reversed_part.pk, earn_entry_id=part.entry_id, amount=30, idempotency_key="r2"
    )
    earn(spender, 80)
    spend = points_services.points_spend(user_id=spender.pk, amount=50, idempotency_key="s1")
    points_services.points_refund(user_id=spender.pk, spend_entry_id=spend.entry_id, idempotency_key="f1")
    staff = StaffFactory()
    points_services.points_adjust(
        user_id=adjusted.pk, amount=500, reason="Goodwill", actor_id=staff.pk, idempotency_key="a1"
    )
    earn(prize, 900, source=EarningSource.LEADERBOARD)  # a board's own prize never ranks
    # Spent, then the earn is reversed: what the balance can't cover becomes debt, and still counts as taken back.
    owed = earn(indebted, 100)
    points_services.points_spend(user_id=indebted.pk, amount=100, idempotency_key="s2")
    points_services.points_reverse(user_id=indebted.pk, earn_entry_id=owed.entry_id, amount=40, idempotency_key="r3")

    assert points_selectors.earned_ranking(since=WEEK_START) == [
        (pending.pk, 150),
        (spender.pk, 80),
        (reversed_part.pk, 70),
        (indebted.pk, 60),
    ]


def test_a_reversal_counts_in_the_period_it_happens(clock):
    member = MemberFactory()
    last_week = earn(member, 100, at=WEEK_START - timedelta(hours=1))
    earn(member, 150)
    points_services.points_reverse(user_id=member.pk, earn_entry_id=last_week.entry_id, amount=100, idempotency_key="r")

    assert points_selectors.earned_ranking(since=WEEK_START) == [(member.pk, 50)]
    assert points_selectors.earned_ranking(since=None) == [(member.pk, 150)]
    assert points_selectors.earned_ranking(since=None, until=WEEK_START) == [(member.pk, 100)]


def test_weeks_and_months_start_at_midnight_in_shanghai(clock):
    member, other = MemberFactory(), MemberFactory()
    earn(member, 10, at=datetime(2026, 10, 31, 23, 59, tzinfo=SHANGHAI))  # October
    earn(member, 20, at=datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI))  # November, last week
    earn(member, 40, at=datetime(2026, 11, 22, 23, 59, tzinfo=SHANGHAI))  # Sunday: last week
    earn(member, 80, at=datetime(2026, 11, 23, 0, 0, tzinfo=SHANGHAI))  # Monday 00:00: this week
    earn(other, 100, at=datetime(2026, 11, 22, 16, 30, tzinfo=ZoneInfo("UTC")))  # Mon 00:30 in Shanghai

    report = services.leaderboard_refresh()

    assert report.ranked == {"week": 2, "month": 2, "all": 2}
    assert standings(Board.WEEK) == [(1, other.pk, 100), (2, member.pk, 80)]
    assert standings(Board.MONTH) == [(1, member.pk, 140), (2, other.pk, 100)]
    assert standings(Board.ALL) == [(1, member.pk, 150), (2, other.pk, 100)]
    assert set(LeaderboardStanding.objects.values_list("board", "period_start")) == {
        ("week", WEEK_START.date()),
        ("month", datetime(2026, 11, 1).date()),
        ("all", ALL_TIME_START),
    }


# --- Snapshot and exclusions -------------------------------------------------------------------


def test_equal_points_share_a_rank_in_the_snapshot(clock):
    members = [MemberFactory() for _ in range(4)]
    for member, points in zip(members, [100, 90, 90, 80], strict=True):
        earn(member, points)

    services.leaderboard_refresh()

    a, b, c, d = (m.pk for m in members)
    assert standings(Board.WEEK) == [(1, a, 100), (2, b, 90), (2, c, 90), (4, d, 80)]


def test_refreshing_twice_gives_the_same_standings_and_replaces_old_periods(clock):
    member = MemberFactory()
    earn(member, 30)
    services.leaderboard_refresh()
    first = {board: standings(board) for board in Board.values}
    first_ids = set(LeaderboardStanding.objects.values_list("pk", flat=True))

    clock.shift(timedelta(minutes=10))
    report = services.leaderboard_refresh()

    assert {board: standings(board) for board in Board.values} == first
    assert LeaderboardStanding.objects.count() == 3
    assert not first_ids & set(LeaderboardStanding.objects.values_list("pk", flat=True))
    assert set(LeaderboardStanding.objects.values_list("refreshed_at", flat=True)) == {report.refreshed_at}
    # A new week: last week's standings go, the new week has nobody yet.
    clock.move_to(NOW + timedelta(days=7))
    services.leaderboard_refresh()
    assert standings(Board.WEEK) == []
    assert standings(Board.ALL) == [(1, member.pk, 30)]


def test_staff_flagged_and_inactive_members_are_left_out(clock):
    kept, flagged, inactive = MemberFactory(), MemberFactory(), MemberFactory()
    staff = StaffFactory()
    for member, points in [(kept, 10), (flagged, 20), (inactive, 30), (staff, 40)]:
        earn(member, points)
    LeaderboardExclusion.objects.create(member=flagged, reason="Bought points")
    User.objects.filter(pk=inactive.pk).update(is_active=False)

    services.leaderboard_refresh()
    assert standings(Board.WEEK) == [(1, kept.pk, 10)]

    LeaderboardPolicy.objects.filter(pk=1).update(exclude_staff=False)
    services.leaderboard_refresh()
    assert standings(Board.WEEK) == [(1, staff.pk, 40), (2, kept.pk, 10)]


def test_the_refresh_command_and_job_rebuild_the_snapshot(clock, capsys):
    member = MemberFactory()
    earn(member, 5)
    call_command("tasks_leaderboard_refresh")
    assert "week: 1, month: 1, all: 1" in capsys.readouterr().out
    from tasks import jobs

    assert jobs.leaderboard_refresh.apply().get() == {"week": 1, "month": 1, "all": 1}
    assert standings(Board.ALL) == [(1, member.pk, 5)]


# --- The page ------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(reverse("leaderboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_before_the_first_refresh_the_page_says_so_and_writes_nothing(client, member, clock):
    earn(member, 10)
    client.force_login(member)

    response = client.get(reverse("leaderboard"))

    assert response.status_code == 200
    assert b'data-testid="leaderboard-empty"' in response.content
    assert "You are not ranked yet" in response.content.decode()
    assert LeaderboardStanding.objects.count() == 0
    assert LeaderboardPolicy.objects.count() == 0


def test_names_are_masked_and_no_e_mail_domain_is_shown(client, clock):
    zhang = MemberFactory(display_name="张三丰")
    alice = MemberFactory(email="alice@example.com")
    viewer = MemberFactory()
    earn(zhang, 300)
    earn(alice, 200)
    earn(viewer, 100)
    services.leaderboard_refresh()
    client.force_login(viewer)

    page = client.get(reverse("leaderboard")).content.decode()

    assert "张**" in page
    assert "a***e" in page
    assert "张三丰" not in page
    assert "alice" not in page
    assert "example.com" not in page
    assert "You are no. 3" in page


def test_the_members_own_rank_shows_even_outside_the_top_50(client, clock):
    members = [MemberFactory() for _ in range(60)]
    for points, member in enumerate(members, start=1):
        earn(member, points * 10)
    services.leaderboard_refresh()
    last = members[0]  # 10 points: no. 60
    client.force_login(last)

    response = client.get(reverse("leaderboard"))

    view = response.context["view"]
    assert len(view.top) == 50
    assert [row.rank for row in view.top] == list(range(1, 51))
    assert (view.top[0].user_id, view.top[0].points, view.top[0].medal) == (members[-1].pk, 600, "gold")
    assert (view.own.rank, view.own.points, view.own_in_top) == (60, 10, False)
    page = response.content.decode()
    assert 'data-testid="own-row"' in page
    assert "You are no. 60" in page

    client.force_login(members[-1])
    view = client.get(reverse("leaderboard")).context["view"]
    assert (view.own.rank, view.own_in_top) == (1, True)


def test_a_member_without_points_is_not_ranked(client, member, other_member, clock):
    earn(other_member, 10)
    services.leaderboard_refresh()
    client.force_login(member)

    response = client.get(reverse("leaderboard"))

    assert (response.context["view"].own, response.context["view"].excluded) == (None, False)
    assert "You are not ranked yet" in response.content.decode()


def test_each_board_is_a_tab_and_no_board_shows_the_week(client, member, clock):
    earn(member, 10, at=datetime(2026, 11, 2, 12, 0, tzinfo=SHANGHAI))  # this month, not this week
    services.leaderboard_refresh()
    client.force_login(member)

    week = client.get(reverse("leaderboard"))
    month = client.get(reverse("leaderboard"), {"board": "month"}, HTTP_HX_REQUEST="true")

    assert week.context["view"].board == "week"
    assert week.context["view"].top == ()
    assert [(r.rank, r.points) for r in month.context["view"].top] == [(1, 10)]
    assert b"<html" not in month.content  # htmx gets the board alone
    assert "2026-11-01 to 2026-11-30" in month.content.decode()


@pytest.mark.parametrize("board", ["nonsense", "WEEK", "week ", "x" * 300])
def test_an_unknown_board_is_a_404_and_writes_nothing(client, member, clock, board):
    earn(member, 10)
    services.leaderboard_refresh()
    before = list(LeaderboardStanding.objects.values_list("pk", "board", "rank", "points"))
    client.force_login(member)

    plain = client.get(reverse("leaderboard"), {"board": board})
    htmx = client.get(reverse("leaderboard"), {"board": board}, HTTP_HX_REQUEST="true")

    assert (plain.status_code, htmx.status_code) == (404, 404)
    assert list(LeaderboardStanding.objects.values_list("pk", "board", "rank", "points")) == before


@pytest.mark.parametrize("how", ["exclusion", "staff"])
def test_a_member_left_out_is_told_their_account_isnt_shown_not_why(client, clock, how):
    left_out = StaffFactory() if how == "staff" else MemberFactory()
    if how == "exclusion":
        LeaderboardExclusion.objects.create(member=left_out, reason="Bought points")
    kept = MemberFactory()
    earn(left_out, 50)
    earn(kept, 10)
    services.leaderboard_refresh()
    client.force_login(left_out)

    response = client.get(reverse("leaderboard"))

    view = response.context["view"]
    assert (view.own, view.excluded) == (None, True)
    page = response.content.decode()
    assert "Your account isn't shown on the leaderboard." in page
    assert "You are not ranked yet" not in page
    assert "Bought points" not in page


def test_staff_are_told_they_are_not_ranked_yet_when_the_policy_ranks_staff(client, clock):
    staff = StaffFactory()
    LeaderboardPolicy.objects.update_or_create(pk=1, defaults={"exclude_staff": False})
    client.force_login(staff)

    response = client.get(reverse("leaderboard"))

    assert response.context["view"].excluded is False
    assert "You are not ranked yet" in response.content.decode()


def test_before_the_first_refresh_an_excluded_member_is_still_told(client, member, clock):
    LeaderboardExclusion.objects.create(member=member, reason="Bought points")
    client.force_login(member)

    response = client.get(reverse("leaderboard"))

    assert response.context["view"].excluded is True
    assert LeaderboardStanding.objects.count() == 0


def test_prize_bands_show_on_the_month_board_only_when_prizes_are_on(client, member, clock):
    earn(member, 10)
    services.leaderboard_refresh()
    LeaderboardPrize.objects.create(rank_from=1, rank_to=1, points=500)
    LeaderboardPrize.objects.create(rank_from=2, rank_to=10, points=50)
    client.force_login(member)

    assert b'data-testid="prizes"' not in client.get(reverse("leaderboard"), {"board": "month"}).content
    LeaderboardPolicy.objects.filter(pk=1).update(monthly_rewards=True)
    month = client.get(reverse("leaderboard"), {"board": "month"}).content.decode()
    week = client.get(reverse("leaderboard"), {"board": "week"}).content.decode()

    assert 'data-testid="prizes"' in month
    assert "No. 2 to 10" in month
    assert 'data-testid="prizes"' not in week


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_page_renders_in_both_languages(client, member, clock, language):
    earn(member, 10)
    services.leaderboard_refresh()
    client.force_login(member)
    response = client.get(reverse("leaderboard"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert f'lang="{language}"' in response.content.decode()


def test_a_render_costs_a_bounded_number_of_queries(client, clock, django_assert_max_num_queries):
    members = [MemberFactory() for _ in range(55)]
    for points, member in enumerate(members, start=1):
        earn(member, points)
    services.leaderboard_refresh()
    client.force_login(members[0])
    client.get(reverse("leaderboard"))  # warms the session and the cached top list
    # Warm: the policy, the snapshot head, the own standing (+ the request: user, header, inbox).
    # Cold: + the top list and its names.

    with django_assert_max_num_queries(8) as warm:
        client.get(reverse("leaderboard"))
    cache.clear()
    with django_assert_max_num_queries(10):
        client.get(reverse("leaderboard"))
    own_queries = [q["sql"] for q in warm.captured_queries if "tasks_leaderboardstanding" in q["sql"]]
    assert len(own_queries) == 2  # the snapshot's head and the member's own standing
