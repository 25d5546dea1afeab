"""Check-in under real concurrency on Postgres: one check-in per member and day, one reward,
make-up limits and cards that hold when requests race. Every scenario ends with exact counts
and the ledger's invariants (``points_verify``).

Threads have their own connections (at most 16 at once: other test runs share the server),
wait until every worker is connected, then race.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest
import time_machine
from django.contrib.auth.hashers import make_password

from accounts.models import User
from points import services as points_services
from points.models import Entry
from tasks import services
from tasks.models import Checkin, MakeupCardGrant
from tests import concurrency
from tests.tasks.checkin_support import T0, balance, joined_member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 16


def run_parallel(calls: list[Callable[[], object]], workers: int = WORKERS) -> list[object]:
    return concurrency.run_parallel(calls, workers)


def kinds(results: list[object]) -> Counter:
    return Counter(type(r).__name__ for r in results)


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def verify() -> None:
    report = points_services.points_verify()
    assert report.ok, report.violations


def test_100_parallel_check_ins_by_one_member_make_one(frozen):
    member = joined_member()
    results = run_parallel([lambda: services.checkin_record(user_id=member.pk) for _ in range(100)])
    assert kinds(results) == {"CheckinResult": 100}
    assert sum(1 for r in results if not r.already) == 1
    assert {r.checkin_id for r in results} == {Checkin.objects.get(member=member).pk}
    assert Checkin.objects.filter(member=member).count() == 1
    assert Entry.objects.filter(account__user=member).count() == 1
    assert balance(member) == 5
    verify()


def test_1000_members_checking_in_at_once_make_1000_check_ins(frozen):
    users = User.objects.bulk_create(
        [User(email=f"crowd-{index}@example.com", password=make_password(None)) for index in range(1000)]
    )
    for user in users:
        points_services.account_open(user_id=user.pk)
    results = run_parallel([lambda user=user: services.checkin_record(user_id=user.pk) for user in users])
    assert kinds(results) == {"CheckinResult": 1000}
    assert all(not r.already and r.points == 5 and r.streak == 1 for r in results)
    assert Checkin.objects.filter(day=date(2026, 1, 14)).count() == 1000
    assert Entry.objects.filter(idempotency_key__startswith="checkin:").count() == 1000
    verify()


def test_parallel_make_ups_respect_the_limit_and_charge_once_each(frozen):
    member = joined_member()
    points_services.points_earn(user_id=member.pk, amount=500, idempotency_key="fund")
    days = [date(2026, 1, d) for d in range(1, 13)]
    calls = [lambda day=day: services.checkin_makeup(user_id=member.pk, day=day) for day in days for _ in range(2)]
    results = run_parallel(calls)
    assert kinds(results) == {"CheckinResult": 2 + 2, "MakeupLimitError": 20}  # each winner's twin replays it
    assert Checkin.objects.filter(member=member, kind="makeup").count() == 2
    assert Entry.objects.filter(account__user=member, kind="spend").count() == 2
    assert balance(member) == 500 - 2 * 20 + 2 * 5
    verify()


def test_one_make_up_card_pays_for_one_make_up(frozen):
    member = joined_member()
    services.makeup_card_apply(user_id=member.pk, quantity=1, idempotency_key="card")
    days = [date(2026, 1, d) for d in range(1, 11)]
    results = run_parallel(
        [lambda day=day: services.checkin_makeup(user_id=member.pk, day=day, pay_with="card") for day in days]
    )
    assert kinds(results) == {"CheckinResult": 1, "NoMakeupCardError": 9}
    grant = MakeupCardGrant.objects.get(member=member)
    assert (grant.used, grant.quantity) == (1, 1)
    verify()


def test_taking_a_card_back_while_it_is_used_gives_one_answer(frozen):
    member = joined_member()
    services.makeup_card_apply(user_id=member.pk, quantity=1, idempotency_key="card")
    results = run_parallel(
        [
            lambda: services.checkin_makeup(user_id=member.pk, day=date(2026, 1, 5), pay_with="card"),
            lambda: services.makeup_card_reverse(user_id=member.pk, idempotency_key="card"),
        ],
        workers=2,
    )
    grant = MakeupCardGrant.objects.get(member=member)
    if results[1] is True:  # taken back first: the make-up found no card
        assert type(results[0]).__name__ == "NoMakeupCardError"
        assert (grant.used, grant.reversed_at is not None) == (0, True)
    else:  # used first: it can no longer be taken back
        assert results[1] is False
        assert (grant.used, grant.reversed_at) == (1, None)
    verify()
