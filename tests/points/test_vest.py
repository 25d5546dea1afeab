"""Vesting (``points_vest``, and a spend vesting what is due first): pending points become available.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from points import services
from points.enums import EntryKind, LotStatus
from points.exceptions import InsufficientPointsError
from points.models import Entry
from points.services import BatchReport
from tests.points.helpers import NOTHING_DONE, T0, earn, entries_of, lifetime, lot_of, moves, refused, spend, totals

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


def test_the_vest_job_makes_due_pending_points_available(member, clock):
    pending = earn(
        member,
        100,
        "e",
        available_at=T0 + timedelta(days=7),
        reference="shop.order:9",
        memo_code="points.purchase",
        memo_params={"order": "9"},
    )

    clock.move_to(T0 + timedelta(days=7) - timedelta(microseconds=1))
    assert services.points_vest() == NOTHING_DONE
    assert totals(member) == (0, 100, 0)

    clock.move_to(T0 + timedelta(days=7))
    assert services.points_vest() == BatchReport(lots=0, points=100, members=1, batches=1, skipped_members=0)
    assert totals(member) == (100, 0, 0)
    assert lifetime(member) == (100, 0, 0)
    assert lot_of(pending).status == LotStatus.AVAILABLE
    vest = Entry.objects.get(kind=EntryKind.VEST)
    assert (vest.amount, vest.pending_amount, vest.balance_after, vest.pending_after) == (100, -100, 100, 0)
    assert (vest.related_entry_id, vest.reference, vest.memo_code, vest.memo_params) == (
        pending.entry_id,
        "shop.order:9",
        "points.purchase",
        {"order": "9"},
    )
    assert moves(vest) == []

    assert services.points_vest() == NOTHING_DONE
    assert Entry.objects.filter(kind=EntryKind.VEST).count() == 1


def test_pending_points_cannot_be_spent_before_they_vest(member, clock):
    earn(member, 100, "e", available_at=T0 + timedelta(days=7))
    clock.move_to(T0 + timedelta(days=7) - timedelta(microseconds=1))
    with refused(InsufficientPointsError, "you have 0, this needs 30"):
        spend(member, 30, "s")


def test_a_spend_vests_due_pending_points_first(member, clock):
    pending = earn(member, 100, "e", available_at=T0 + timedelta(days=7))
    clock.move_to(T0 + timedelta(days=7))

    receipt = spend(member, 30, "s")

    assert (receipt.balance, receipt.pending) == (70, 0)
    assert entries_of(member) == [("earn", 0, 100, 0, 0), ("vest", 100, -100, 0, 100), ("spend", -30, 0, 0, 70)]
    assert moves(receipt) == [(lot_of(pending).pk, -30)]


def test_a_caller_key_that_looks_like_a_follow_up_key_does_not_block_vesting(member, clock):
    # Found by this suite: vest entries used to take the key "<earn key>:vest", so a caller
    # who had used that key made every later settle of the account fail on the unique key.
    earn(member, 100, "a")
    spend(member, 10, "p:vest")
    earn(member, 50, "p", available_at=T0 + timedelta(days=1))
    clock.move_to(T0 + timedelta(days=1))

    assert spend(member, 10, "s2").balance == 130
    assert Entry.objects.get(kind=EntryKind.VEST).idempotency_key is None
