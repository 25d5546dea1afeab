"""Refunding a spend (``points_refund``): the points go back into the exact lots they came from.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from points.enums import EntryKind
from points.exceptions import NothingToRefundError
from points.models import Entry
from points.services import Receipt
from tests.points.helpers import (
    DEFAULT_EXPIRY,
    MUG,
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
    spend,
    totals,
)

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


def test_refund_puts_points_back_into_the_exact_lots_with_their_expiry(member, clock):
    later = earn(member, 100, "a")
    sooner = earn(member, 50, "b", expires_at=datetime(2025, 2, 1, tzinfo=SHANGHAI))
    spent = spend(member, 120, "s", reference="catalog.order:7", memo_code="catalog.redeemed", memo_params=MUG)
    assert moves(spent) == [(lot_of(sooner).pk, -50), (lot_of(later).pk, -70)]

    receipt = refund(member, spent, "r")

    assert receipt == Receipt(
        entry_id=receipt.entry_id,
        kind=EntryKind.REFUND,
        amount=120,
        pending_amount=0,
        debt_change=0,
        balance=150,
        pending=0,
        debt=0,
    )
    assert moves(receipt) == [(lot_of(later).pk, 70), (lot_of(sooner).pk, 50)]
    assert [(lot.remaining, lot.expires_at) for lot in (lot_of(later), lot_of(sooner))] == [
        (100, DEFAULT_EXPIRY),
        (50, datetime(2025, 2, 1, tzinfo=SHANGHAI)),
    ]
    entry = Entry.objects.get(pk=receipt.entry_id)
    # The refund names its spend; it never copies the spend's text (that is how texts doubled).
    assert (entry.related_entry_id, entry.reference, entry.memo_code, entry.memo, entry.balance_after) == (
        spent.entry_id,
        "catalog.order:7",
        "",
        "",
        150,
    )
    assert lifetime(member) == (150, 0, 0)


def test_partial_refunds_refill_the_last_taken_lot_first_and_stop_at_the_spend(member, clock):
    later = earn(member, 100, "a")
    sooner = earn(member, 50, "b", expires_at=datetime(2025, 2, 1, tzinfo=SHANGHAI))
    spent = spend(member, 120, "s")
    later_lot, sooner_lot = lot_of(later).pk, lot_of(sooner).pk

    assert moves(refund(member, spent, "r1", amount=30)) == [(later_lot, 30)]
    assert moves(refund(member, spent, "r2", amount=60)) == [(later_lot, 40), (sooner_lot, 20)]
    assert totals(member) == (120, 0, 0)

    with refused(NothingToRefundError, "more than what is left to give back: 30 points"):
        refund(member, spent, "r3", amount=31)
    assert moves(refund(member, spent, "r4", amount=30)) == [(sooner_lot, 30)]
    with refused(NothingToRefundError, "left to give back: 0 points"):
        refund(member, spent, "r5")

    assert remaining(later, sooner) == [100, 50]
    assert lifetime(member) == (150, 0, 0)


def test_refund_into_a_lot_that_has_expired_since_expires_at_once(member, clock):
    soon = earn(member, 100, "a", expires_at=T0 + timedelta(days=10))
    late = earn(member, 100, "b")
    spent = spend(member, 150, "s")
    assert moves(spent) == [(lot_of(soon).pk, -100), (lot_of(late).pk, -50)]

    clock.move_to(T0 + timedelta(days=10))
    receipt = refund(member, spent, "r")

    assert (receipt.amount, receipt.balance) == (150, 100)
    assert moves(receipt) == [(lot_of(late).pk, 50), (lot_of(soon).pk, 100)]
    lapse = Entry.objects.get(kind=EntryKind.EXPIRE)
    assert (lapse.amount, lapse.balance_after, lapse.related_entry_id) == (-100, 100, receipt.entry_id)
    assert moves(lapse) == [(lot_of(soon).pk, -100)]
    assert entries_of(member)[-2:] == [("refund", 150, 0, 0, 200), ("expire", -100, 0, 0, 100)]
    assert remaining(soon, late) == [0, 100]
    assert totals(member) == (100, 0, 0)
    assert lifetime(member) == (200, 0, 100)


def test_refund_after_a_lot_expired_with_points_left_expires_both_parts(member, clock):
    soon = earn(member, 100, "a", expires_at=T0 + timedelta(days=10))
    spent = spend(member, 60, "s")

    clock.move_to(T0 + timedelta(days=10))
    receipt = refund(member, spent, "r")

    # The 40 left in the lot expire when the refund settles the account; the 60 given back, at once.
    assert entries_of(member) == [
        ("earn", 100, 0, 0, 100),
        ("spend", -60, 0, 0, 40),
        ("expire", -40, 0, 0, 0),
        ("refund", 60, 0, 0, 60),
        ("expire", -60, 0, 0, 0),
    ]
    assert receipt.balance == 0
    assert remaining(soon) == [0]
    assert lifetime(member) == (100, 0, 100)
