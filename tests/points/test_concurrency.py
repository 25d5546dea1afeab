"""The ledger under real concurrency: threads with their own Postgres connections.

Each scenario releases its threads together with a barrier (every thread has already
connected), lets them contend for the same account rows, and then checks exact
outcomes and every invariant with ``points_verify``. Time is frozen with time-machine,
which patches the clock for every thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from points import services
from points.enums import EntryKind
from points.exceptions import InsufficientPointsError, NothingToRefundError
from points.models import Account, Entry, Lot, LotMovement
from points.services import BatchReport, Receipt
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def run_together(calls: list[Callable[[], object]], timeout: float = 60) -> list[object]:
    """Run each call in its own thread, all released at once; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            # Connect before the barrier so the calls race for locks, not for connections.
            connection.ensure_connection()
            barrier.wait(timeout=timeout)
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: deadlock or lost lock"
    return results


def of_type(results: list[object], kind: type) -> list:
    return [r for r in results if isinstance(r, kind)]


def assert_no_unexpected_errors(results: list[object], *expected: type[Exception]) -> None:
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, expected)]
    assert unexpected == []


def assert_ledger_consistent() -> None:
    report = services.points_verify()
    assert report.ok, report.violations


def test_parallel_spends_never_overdraw(clock):
    member = MemberFactory()
    services.points_earn(user_id=member.pk, amount=20, idempotency_key="earn")

    results = run_together(
        [
            lambda n=n: services.points_spend(user_id=member.pk, amount=1, idempotency_key=f"spend:{n}")
            for n in range(50)
        ]
    )

    assert_no_unexpected_errors(results, InsufficientPointsError)
    spent = of_type(results, Receipt)
    refused = of_type(results, InsufficientPointsError)
    assert (len(spent), len(refused)) == (20, 30)
    # Each spend saw the one before it: the balances after are exactly 19, 18, ..., 0.
    assert sorted(r.balance for r in spent) == list(range(20))
    assert {e.message for e in refused} == {"Not enough points: you have 0, this needs 1."}
    account = Account.objects.get(user=member)
    assert (account.balance, account.lifetime_spent) == (0, 20)
    assert Entry.objects.filter(account=account, kind=EntryKind.SPEND).count() == 20
    assert_ledger_consistent()


def test_spends_racing_expiry_sweeps_expire_each_lot_exactly_once(clock):
    members = [MemberFactory() for _ in range(8)]
    for member in members:
        services.points_earn(
            user_id=member.pk, amount=50, idempotency_key=f"{member.pk}:soon", expires_at=T0 + timedelta(hours=1)
        )
        services.points_earn(user_id=member.pk, amount=30, idempotency_key=f"{member.pk}:later")
    clock.move_to(T0 + timedelta(hours=2))

    spends = [
        lambda m=member, n=n: services.points_spend(user_id=m.pk, amount=10, idempotency_key=f"{m.pk}:spend:{n}")
        for member in members
        for n in range(4)
    ]
    sweeps = [
        lambda sql=use_sql: services.points_expire_due(use_sql=sql, batch_size=3) for use_sql in (True, False)
    ] * 2
    results = run_together(spends + sweeps)

    assert_no_unexpected_errors(results, InsufficientPointsError)
    spend_results, sweep_reports = results[: len(spends)], results[len(spends) :]
    assert all(isinstance(r, BatchReport) for r in sweep_reports)
    # The 50 that expired could never be spent: 3 spends of 10 succeed per member, 1 is refused.
    assert (len(of_type(spend_results, Receipt)), len(of_type(spend_results, InsufficientPointsError))) == (24, 8)
    for member in members:
        account = Account.objects.get(user=member)
        assert (account.balance, account.lifetime_earned, account.lifetime_spent, account.lifetime_expired) == (
            0,
            80,
            30,
            50,
        )
        expiries = list(Entry.objects.filter(account=account, kind=EntryKind.EXPIRE).values_list("amount", flat=True))
        assert expiries == [-50]
        soon = Lot.objects.get(entry__idempotency_key=f"{member.pk}:soon")
        assert list(LotMovement.objects.filter(lot=soon).order_by("pk").values_list("amount", flat=True)) == [50, -50]
    swept = sum(r.points for r in sweep_reports)
    expired_inline = 8 * 50 - swept
    assert swept % 50 == 0
    assert 0 <= expired_inline <= 8 * 50
    assert_ledger_consistent()


def test_one_key_from_ten_threads_has_one_effect(clock):
    member = MemberFactory()
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="seed")

    results = run_together(
        [lambda: services.points_spend(user_id=member.pk, amount=30, idempotency_key="order:1:spend")] * 10
    )

    assert_no_unexpected_errors(results)
    assert Counter(r.replayed for r in results) == {False: 1, True: 9}
    assert {dataclasses.replace(r, replayed=False) for r in results} == {
        Receipt(
            entry_id=results[0].entry_id,
            kind=EntryKind.SPEND,
            amount=-30,
            pending_amount=0,
            debt_change=0,
            balance=70,
            pending=0,
            debt=0,
        )
    }
    assert Entry.objects.filter(idempotency_key="order:1:spend").count() == 1
    assert Account.objects.get(user=member).balance == 70
    assert_ledger_consistent()


def test_one_earn_key_from_ten_threads_credits_once(clock):
    member = MemberFactory()

    results = run_together(
        [lambda: services.points_earn(user_id=member.pk, amount=25, idempotency_key="checkin:2025-01-10")] * 10
    )

    assert_no_unexpected_errors(results)
    assert len({r.entry_id for r in results}) == 1
    assert Counter(r.replayed for r in results) == {False: 1, True: 9}
    assert Account.objects.get(user=member).balance == 25
    assert_ledger_consistent()


def test_parallel_refunds_of_one_spend_never_give_back_more_than_it_took(clock):
    member = MemberFactory()
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="earn")
    spent = services.points_spend(user_id=member.pk, amount=60, idempotency_key="spend")

    partial = [
        lambda n=n: services.points_refund(
            user_id=member.pk, spend_entry_id=spent.entry_id, idempotency_key=f"refund:{n}", amount=10
        )
        for n in range(10)
    ]
    whole = [
        lambda n=n: services.points_refund(
            user_id=member.pk, spend_entry_id=spent.entry_id, idempotency_key=f"refund-all:{n}"
        )
        for n in range(3)
    ]
    results = run_together(partial + whole)

    assert_no_unexpected_errors(results, NothingToRefundError)
    refunds = of_type(results, Receipt)
    assert sum(r.amount for r in refunds) == 60
    assert len(refunds) + len(of_type(results, NothingToRefundError)) == 13
    account = Account.objects.get(user=member)
    assert (account.balance, account.lifetime_spent) == (100, 0)
    refunded = sum(
        Entry.objects.filter(related_entry_id=spent.entry_id, kind=EntryKind.REFUND).values_list("amount", flat=True)
    )
    assert refunded == 60
    assert_ledger_consistent()


def test_many_accounts_spending_while_sweeps_and_vesting_run(clock):
    members = [MemberFactory() for _ in range(12)]
    for n, member in enumerate(members):
        services.points_earn(
            user_id=member.pk, amount=40, idempotency_key=f"{member.pk}:due", expires_at=T0 + timedelta(hours=1)
        )
        services.points_earn(user_id=member.pk, amount=100, idempotency_key=f"{member.pk}:kept")
        services.points_earn(
            user_id=member.pk,
            amount=20,
            idempotency_key=f"{member.pk}:pending",
            available_at=T0 + timedelta(hours=1) if n % 2 else T0 + timedelta(days=30),
        )
    clock.move_to(T0 + timedelta(hours=2))

    def member_session(member) -> Callable[[], list[object]]:
        def run() -> list[object]:
            outcomes = []
            for n in range(4):
                try:
                    outcomes.append(
                        services.points_spend(user_id=member.pk, amount=35, idempotency_key=f"{member.pk}:s{n}")
                    )
                except InsufficientPointsError as error:
                    outcomes.append(error)
            return outcomes

        return run

    jobs = [
        lambda: services.points_expire_due(use_sql=True, batch_size=4),
        lambda: services.points_expire_due(use_sql=False, batch_size=5),
        lambda: services.points_vest_due(batch_size=3),
        lambda: services.points_expire_due(),
    ]
    results = run_together([member_session(m) for m in members] + jobs)

    assert_no_unexpected_errors(results)
    for n, (member, outcomes) in enumerate(zip(members, results[: len(members)], strict=True)):
        vested = 20 if n % 2 else 0
        available = 100 + vested
        spent = 35 * (available // 35)
        assert sum(-r.amount for r in outcomes if isinstance(r, Receipt)) == spent
        account = Account.objects.get(user=member)
        assert (account.balance, account.pending, account.lifetime_expired) == (available - spent, 20 - vested, 40)
        assert Entry.objects.filter(account=account, kind=EntryKind.EXPIRE).count() == 1
    assert_ledger_consistent()


def test_mixed_operations_on_one_account_stay_consistent(clock):
    member = MemberFactory()
    earned = services.points_earn(user_id=member.pk, amount=300, idempotency_key="e0")
    spent = services.points_spend(user_id=member.pk, amount=100, idempotency_key="s0")

    calls = [
        lambda: services.points_earn(user_id=member.pk, amount=50, idempotency_key="e1"),
        lambda: services.points_spend(user_id=member.pk, amount=120, idempotency_key="s1"),
        lambda: services.points_spend(user_id=member.pk, amount=120, idempotency_key="s2"),
        lambda: services.points_refund(
            user_id=member.pk, spend_entry_id=spent.entry_id, idempotency_key="r1", amount=40
        ),
        lambda: services.points_reverse(user_id=member.pk, earn_entry_id=earned.entry_id, idempotency_key="v1"),
        lambda: services.points_expire_due(),
        lambda: services.points_vest_due(),
    ]
    results = run_together(calls)

    assert_no_unexpected_errors(results, InsufficientPointsError)
    account = Account.objects.get(user=member)
    entries = Entry.objects.filter(account=account)
    assert account.balance == sum(entries.values_list("amount", flat=True))
    assert account.debt == sum(entries.values_list("debt_change", flat=True))
    assert account.balance >= 0
    # Whatever the order, 300 + 50 earned, 300 reversed, 100 spent then 40 refunded: what is
    # not available is owed, and each of s1/s2 succeeded only if it was covered at its turn.
    succeeded = sum(120 for r in results[1:3] if isinstance(r, Receipt))
    assert account.balance - account.debt == 350 - 300 - 100 + 40 - succeeded
    assert_ledger_consistent()


def test_one_key_sent_for_two_members_at_once_is_one_earn_and_one_clear_conflict(clock):
    from points.exceptions import IdempotencyConflictError

    first, second = MemberFactory(), MemberFactory()
    calls = [
        lambda user=user: services.points_earn(user_id=user.pk, amount=10, idempotency_key="shared-key")
        for user in (first, second) * 5
    ]
    results = run_together(calls)
    receipts = [r for r in results if isinstance(r, Receipt)]
    conflicts = [r for r in results if isinstance(r, IdempotencyConflictError)]
    assert len(receipts) + len(conflicts) == 10, [type(r) for r in results]
    assert Entry.objects.filter(idempotency_key="shared-key").count() == 1
    winner = Entry.objects.get(idempotency_key="shared-key").account.user_id
    assert all(Account.objects.get(user=u).balance == (10 if u.pk == winner else 0) for u in (first, second))
    assert services.points_verify().ok
