"""Reversing an earn (``points_reverse``): its own lot first, then other lots, then debt.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from points import services
from points.enums import EntryKind, LotStatus
from points.exceptions import NothingToRefundError
from points.models import Entry
from points.services import Receipt
from tests.points.helpers import (
    NOTHING_DONE,
    SHANGHAI,
    T0,
    earn,
    entries_of,
    lifetime,
    lot_of,
    moves,
    refund,
    refused,
    remaining,
    reverse,
    spend,
    totals,
)

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


def test_reversing_a_pending_earn_cancels_it(member, clock):
    pending = earn(member, 100, "e", available_at=T0 + timedelta(days=7))

    receipt = reverse(member, pending, "r")

    assert receipt == Receipt(
        entry_id=receipt.entry_id,
        kind=EntryKind.REVERSE,
        amount=0,
        pending_amount=-100,
        debt_change=0,
        balance=0,
        pending=0,
        debt=0,
    )
    lot = lot_of(pending)
    assert (lot.remaining, lot.status) == (0, LotStatus.CANCELLED)
    assert moves(receipt) == [(lot.pk, -100)]
    clock.move_to(T0 + timedelta(days=8))
    assert services.points_vest() == NOTHING_DONE
    assert totals(member) == (0, 0, 0)
    assert lifetime(member) == (0, 0, 0)


def test_partly_reversing_a_pending_earn_leaves_the_rest_to_vest(member, clock):
    pending = earn(member, 100, "e", available_at=T0 + timedelta(days=7))

    assert reverse(member, pending, "r1", amount=40).pending == 60
    assert (lot_of(pending).remaining, lot_of(pending).status) == (60, LotStatus.PENDING)

    clock.move_to(T0 + timedelta(days=7))
    services.points_vest()
    assert totals(member) == (60, 0, 0)
    assert lifetime(member) == (60, 0, 0)

    with refused(NothingToRefundError, "left to give back: 60 points"):
        reverse(member, pending, "r2", amount=61)
    receipt = reverse(member, pending, "r2")
    assert (receipt.amount, receipt.pending_amount, receipt.balance) == (-60, 0, 0)
    assert lifetime(member) == (0, 0, 0)


def test_reversing_an_unspent_earn_takes_its_own_lot(member, clock):
    first = earn(member, 100, "a")
    other = earn(member, 50, "b", expires_at=datetime(2025, 2, 1, tzinfo=SHANGHAI))

    receipt = reverse(member, first, "r")

    assert (receipt.amount, receipt.debt_change, receipt.balance) == (-100, 0, 50)
    assert moves(receipt) == [(lot_of(first).pk, -100)]
    assert remaining(first, other) == [0, 50]
    assert lot_of(first).status == LotStatus.AVAILABLE
    assert lifetime(member) == (50, 0, 0)


def test_reversing_a_partly_spent_earn_takes_the_rest_from_other_lots_by_expiry(member, clock):
    reversed_earn = earn(member, 100, "a")
    sooner = earn(member, 80, "b", expires_at=T0 + timedelta(days=20))
    spend(member, 120, "s")
    assert remaining(reversed_earn, sooner) == [60, 0]
    same_expiry = earn(member, 50, "c")
    earlier_expiry = earn(member, 30, "d", expires_at=T0 + timedelta(days=60))

    receipt = reverse(member, reversed_earn, "r")

    assert (receipt.amount, receipt.debt_change, receipt.balance, receipt.debt) == (-100, 0, 40, 0)
    assert moves(receipt) == [
        (lot_of(reversed_earn).pk, -60),
        (lot_of(earlier_expiry).pk, -30),
        (lot_of(same_expiry).pk, -10),
    ]
    assert remaining(reversed_earn, sooner, same_expiry, earlier_expiry) == [0, 0, 40, 0]
    assert lifetime(member) == (160, 120, 0)


def test_a_reversal_the_balance_cannot_cover_becomes_debt_that_later_points_repay(member, staff_actor, clock):
    first = earn(member, 100, "e1")
    spent = spend(member, 90, "s1")

    reversal = reverse(member, first, "r1")
    assert (reversal.amount, reversal.debt_change, reversal.balance, reversal.debt) == (-10, 90, 0, 90)
    assert lifetime(member) == (0, 90, 0)

    # An earn pays the debt first.
    second = earn(member, 50, "e2")
    assert (second.amount, second.balance, second.debt) == (50, 0, 40)
    repay = Entry.objects.get(kind=EntryKind.DEBT_REPAY)
    assert (repay.amount, repay.debt_change, repay.balance_after, repay.related_entry_id) == (
        -50,
        -50,
        0,
        second.entry_id,
    )
    assert repay.idempotency_key is None
    assert moves(repay) == [(lot_of(second).pk, -50)]

    # So do points that vest.
    earn(member, 30, "e3", available_at=T0 + timedelta(days=1))
    assert totals(member) == (0, 30, 40)
    clock.move_to(T0 + timedelta(days=1))
    services.points_vest()
    assert totals(member) == (0, 0, 10)

    # And a refund.
    given_back = refund(member, spent, "rf1", amount=25)
    assert (given_back.amount, given_back.balance, given_back.debt) == (25, 15, 0)

    # With the debt paid, points stay.
    staff_adjust = services.points_adjust(
        user_id=member.pk, amount=5, reason="Goodwill", actor_id=staff_actor.pk, idempotency_key="adj"
    )
    assert (staff_adjust.balance, staff_adjust.debt) == (20, 0)
    assert [kind for kind, *_rest in entries_of(member)] == [
        "earn",
        "spend",
        "reverse",
        "earn",
        "debt_repay",
        "earn",
        "vest",
        "debt_repay",
        "refund",
        "debt_repay",
        "adjust",
    ]
    assert lifetime(member) == (85, 65, 0)


def test_a_positive_adjustment_repays_debt(member, staff_actor, clock):
    first = earn(member, 100, "e1")
    spend(member, 100, "s1")
    reverse(member, first, "r1")
    assert totals(member) == (0, 0, 100)

    receipt = services.points_adjust(
        user_id=member.pk, amount=30, reason="Correction", actor_id=staff_actor.pk, idempotency_key="adj"
    )

    assert (receipt.amount, receipt.balance, receipt.debt) == (30, 0, 70)


def test_reversing_part_of_an_earn_twice_never_exceeds_it(member, clock):
    first = earn(member, 100, "e1")
    reverse(member, first, "r1", amount=70)
    with refused(NothingToRefundError, "left to give back: 30 points"):
        reverse(member, first, "r2", amount=31)
    assert reverse(member, first, "r3").amount == -30
    with refused(NothingToRefundError, "left to give back: 0 points"):
        reverse(member, first, "r4")
    assert totals(member) == (0, 0, 0)
