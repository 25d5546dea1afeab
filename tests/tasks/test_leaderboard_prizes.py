"""Monthly leaderboard prizes: who is paid what, once, in the reader's language."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from accounts.models import Notification
from points import notices as points_notices
from points import services as points_services
from points.enums import EarningSource
from points.models import Account, Entry
from tasks import services
from tasks.exceptions import LeaderboardMonthNotOverError
from tasks.models import Board, LeaderboardPayout, LeaderboardPolicy, LeaderboardPrize, LeaderboardStanding
from tests.concurrency import outcome_counts, run_together
from tests.factories import MemberFactory, StaffFactory
from tests.tasks.test_leaderboard import SHANGHAI

OCTOBER = date(2026, 10, 1)
IN_OCTOBER = datetime(2026, 10, 15, 12, 0, tzinfo=SHANGHAI)
PAY_AT = datetime(2026, 11, 1, 0, 20, tzinfo=SHANGHAI)
_keys = itertools.count()


def earn(user, amount, at=IN_OCTOBER):
    return points_services.points_earn(
        user_id=user.pk, amount=amount, idempotency_key=f"test:prize:{next(_keys)}:{user.pk}", now=at
    )


def prizes_on():
    LeaderboardPolicy.objects.update_or_create(pk=1, defaults={"monthly_rewards": True})
    LeaderboardPrize.objects.create(rank_from=1, rank_to=1, points=500)
    LeaderboardPrize.objects.create(rank_from=2, rank_to=3, points=200)


def month_board():
    """First 300, two tied second at 250 (both in the 2-3 band), 100 fourth (no band), a staff member
    and a member whose points came a minute into November."""
    first, second, also_second, fourth, november = (MemberFactory() for _ in range(5))
    for member, points in [(first, 300), (second, 250), (also_second, 250), (fourth, 100)]:
        earn(member, points)
    earn(StaffFactory(), 1000)
    earn(november, 900, at=datetime(2026, 10, 31, 23, 59, tzinfo=SHANGHAI))
    earn(november, 900, at=datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI))
    return first, second, also_second, fourth, november


def payouts():
    return list(LeaderboardPayout.objects.order_by("rank", "member_id").values_list("rank", "member_id", "points"))


def prize_entries():
    return list(
        Entry.objects.filter(source=EarningSource.LEADERBOARD)
        .order_by("account__user_id")
        .values_list("account__user_id", "amount", "idempotency_key")
    )


@pytest.fixture
def ledger_stays_consistent(db):
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


def test_last_months_prize_bands_are_paid_and_a_shared_rank_at_a_band_edge_gets_the_prize(db, ledger_stays_consistent):
    first, second, also_second, fourth, november = month_board()
    prizes_on()

    report = services.leaderboard_pay_monthly(now=PAY_AT)

    # October: november 900, first 300, second and also_second 250 (rank 3, both in the 2-3 band), fourth 100.
    assert payouts() == [
        (1, november.pk, 500),
        (2, first.pk, 200),
        (3, min(second.pk, also_second.pk), 200),
        (3, max(second.pk, also_second.pk), 200),
    ]
    assert (report.month, report.enabled, report.paid, report.points, report.already_paid) == (
        OCTOBER,
        True,
        4,
        1100,
        0,
    )
    assert prize_entries() == [
        (member.pk, points, f"leaderboard:2026-10:{member.pk}")
        for member, points in sorted(
            [(november, 500), (first, 200), (second, 200), (also_second, 200)], key=lambda pair: pair[0].pk
        )
    ]
    assert Account.objects.get(user=fourth).balance == 100
    assert Account.objects.get(user=first).balance == 500


def test_paying_twice_pays_nothing_more(db, ledger_stays_consistent):
    month_board()
    prizes_on()
    services.leaderboard_pay_monthly(now=PAY_AT)
    paid, entries, messages = payouts(), prize_entries(), Notification.objects.count()

    again = services.leaderboard_pay_monthly(now=PAY_AT)
    later = services.leaderboard_pay_monthly(now=datetime(2026, 11, 20, tzinfo=SHANGHAI), month=OCTOBER)

    assert (again.paid, again.points, again.already_paid) == (0, 0, 4)
    assert (later.paid, later.already_paid) == (0, 4)
    assert (payouts(), prize_entries(), Notification.objects.count()) == (paid, entries, messages)


def test_the_prize_reads_in_the_members_language(db):
    first, *_rest = month_board()
    prizes_on()
    services.leaderboard_pay_monthly(now=PAY_AT)

    entry = Entry.objects.get(account__user=first, source=EarningSource.LEADERBOARD)
    message = Notification.objects.get(user=first)
    assert (message.kind, message.link, message.dedupe_key) == (
        "activity",
        "/leaderboard/?board=month",
        "leaderboard:2026-10",
    )
    assert points_notices.render(entry.memo_code, entry.memo_params).title == "Leaderboard prize: no. 2 in 2026-10"
    assert message.text().title == "You placed no. 2 on the 2026-10 leaderboard"
    assert message.text().body == (
        "200 points for your place have been added to your account. Thank you for taking part!"
    )
    with translation.override("zh-hans"):
        assert (
            "2026-10" in message.text().title
        )  # rendered from the code in the reader's language, never stored as text


def test_a_prize_does_not_count_toward_the_next_board(db):
    first, *_rest = month_board()
    prizes_on()
    services.leaderboard_pay_monthly(now=PAY_AT)

    services.leaderboard_refresh(now=PAY_AT)

    assert not LeaderboardStanding.objects.filter(board=Board.MONTH, member=first).exists()


def test_nothing_is_paid_while_prizes_are_off_or_no_band_is_set(db):
    month_board()
    LeaderboardPrize.objects.create(rank_from=1, rank_to=3, points=100)

    off = services.leaderboard_pay_monthly(now=PAY_AT)
    LeaderboardPolicy.objects.filter(pk=1).update(monthly_rewards=True)
    LeaderboardPrize.objects.all().delete()
    no_bands = services.leaderboard_pay_monthly(now=PAY_AT)

    assert (off.enabled, off.paid, no_bands.enabled, no_bands.paid) == (False, 0, True, 0)
    assert (payouts(), prize_entries(), Notification.objects.filter(kind="activity").count()) == ([], [], 0)


@pytest.mark.parametrize("month", [date(2026, 11, 1), date(2026, 12, 1)])
def test_a_month_that_is_not_over_is_refused_and_nothing_written(db, month):
    month_board()
    prizes_on()

    with pytest.raises(LeaderboardMonthNotOverError) as raised:
        services.leaderboard_pay_monthly(now=PAY_AT, month=month)

    assert raised.value.code == "leaderboard_month_not_over"
    assert raised.value.message == f"The prizes of {month:%Y-%m} are paid once that month is over."
    assert (payouts(), prize_entries()) == ([], [])


def test_the_pay_command_names_the_month_and_refuses_one_not_over(db, capsys):
    month_board()
    prizes_on()
    call_command("tasks_leaderboard_pay", "--month", "2026-10")
    assert "2026-10: paid 1100 points to 4 members (0 paid before)." in capsys.readouterr().out
    with pytest.raises(CommandError, match="paid once that month is over"):
        call_command("tasks_leaderboard_pay", "--month", "2999-01")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("tasks_leaderboard_pay", "--month", "October")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_paying_at_once_pay_each_member_once():
    month_board()
    prizes_on()

    results = run_together([lambda: services.leaderboard_pay_monthly(now=PAY_AT) for _ in range(2)])

    assert outcome_counts(results) == {"PayoutReport": 2}
    assert sorted(report.paid for report in results) == [0, 4]
    assert LeaderboardPayout.objects.count() == 4
    assert Entry.objects.filter(source=EarningSource.LEADERBOARD).count() == 4
    assert Notification.objects.filter(kind="activity").count() == 4
    report = points_services.points_verify()
    assert report.ok, report.violations
