"""Checkout holds under real concurrency (Postgres, threads released together)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from points import services
from points.enums import EntryKind, HoldStatus
from points.exceptions import InsufficientPointsError
from points.models import Account, Entry, Hold
from points.services import HoldReceipt, Receipt
from tests.concurrency import run_together
from tests.factories import MemberFactory
from tests.points.helpers import T0

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def outcomes(results: list[object]) -> list[str]:
    return sorted(type(result).__name__ for result in results)


def test_a_hold_and_a_mall_spend_racing_for_the_last_points_one_wins(clock):
    for round_ in range(5):
        member = MemberFactory()
        services.points_earn(user_id=member.pk, amount=100, idempotency_key=f"earn:{round_}")

        results = run_together(
            [
                lambda member=member, round_=round_: services.points_hold_place(
                    user_id=member.pk, amount=100, key=f"host:1:race{round_}", expires_at=T0 + timedelta(minutes=15)
                ),
                lambda member=member, round_=round_: services.points_spend(
                    user_id=member.pk, amount=100, idempotency_key=f"spend:{round_}"
                ),
            ]
        )

        won = [r for r in results if isinstance(r, (HoldReceipt, Receipt))]
        lost = [r for r in results if isinstance(r, InsufficientPointsError)]
        assert (len(won), len(lost)) == (1, 1), results
        assert lost[0].message == "Not enough points: you have 0, this needs 100."
        account = Account.objects.get(user=member)
        if isinstance(won[0], HoldReceipt):
            assert (account.balance, account.held, Entry.objects.filter(account=account).count()) == (100, 100, 1)
        else:
            assert (account.balance, account.held, Hold.objects.filter(account=account).count()) == (0, 0, 0)
    assert services.points_verify().ok


def test_eight_parallel_captures_of_one_hold_spend_once(clock):
    member = MemberFactory()
    services.points_earn(user_id=member.pk, amount=300, idempotency_key="earn")
    hold = services.points_hold_place(
        user_id=member.pk, amount=120, key="host:1:A1", expires_at=T0 + timedelta(minutes=15)
    )

    results = run_together([lambda: services.points_hold_capture(hold_id=hold.hold_id) for _ in range(8)])

    assert outcomes(results) == ["HoldReceipt"] * 8
    spend = Entry.objects.get(kind=EntryKind.SPEND)
    assert {r.entry_id for r in results} == {spend.pk}
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    account = Account.objects.get(user=member)
    assert (account.balance, account.held, account.lifetime_spent) == (180, 0, 120)
    assert Hold.objects.get().status == HoldStatus.CAPTURED
    assert services.points_verify().ok


def test_parallel_expiry_sweeps_and_captures_end_each_hold_once(clock):
    members = [MemberFactory() for _ in range(6)]
    holds = []
    for member in members:
        services.points_earn(user_id=member.pk, amount=100, idempotency_key=f"earn:{member.pk}")
        for n in range(2):
            holds.append(
                services.points_hold_place(
                    user_id=member.pk, amount=30, key=f"host:1:{member.pk}:{n}", expires_at=T0 + timedelta(minutes=5)
                )
            )
    clock.move_to(T0 + timedelta(minutes=6))

    results = run_together(
        [lambda: services.points_holds_expire(batch_size=2) for _ in range(4)]
        + [lambda hold=hold: services.points_hold_capture(hold_id=hold.hold_id) for hold in holds[:4]]
    )

    sweeps, captures = results[:4], results[4:]
    assert all(isinstance(r, int) for r in sweeps), sweeps
    assert all(type(r).__name__ == "HoldNotActiveError" for r in captures), captures
    # A sweep skips an account a capture holds; the capture ends that one hold itself, and the
    # next run ends whatever else it skipped: each hold is ended exactly once, by one of them.
    swept = sum(sweeps) + services.points_holds_expire()
    assert 8 <= swept <= 12
    assert set(Hold.objects.values_list("status", flat=True)) == {HoldStatus.EXPIRED}
    assert Hold.objects.filter(settled_at=T0 + timedelta(minutes=6)).count() == 12
    assert set(Account.objects.filter(user__in=members).values_list("held", flat=True)) == {0}
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == 0
    assert services.points_verify().ok
