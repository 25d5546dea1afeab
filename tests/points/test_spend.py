"""Spending points (``points_spend``): which lots a spend takes, first to expire first.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from points.enums import EntryKind, ExpiryMode
from points.models import Entry
from points.services import Receipt
from tests.points.helpers import MUG, SHANGHAI, earn, lifetime, lot_of, moves, remaining, set_policy, spend, totals

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


def test_spend_takes_the_lots_that_expire_first(member, clock):
    latest = earn(member, 100, "a")
    march = earn(member, 50, "b", expires_at=datetime(2025, 3, 1, tzinfo=SHANGHAI))
    february = earn(member, 70, "c", expires_at=datetime(2025, 2, 1, tzinfo=SHANGHAI))
    march_too = earn(member, 30, "d", expires_at=datetime(2025, 3, 1, tzinfo=SHANGHAI))

    first = spend(member, 150, "s1", reference="catalog.order:1", memo_code="catalog.redeemed", memo_params=MUG)

    assert first == Receipt(
        entry_id=first.entry_id,
        kind=EntryKind.SPEND,
        amount=-150,
        pending_amount=0,
        debt_change=0,
        balance=100,
        pending=0,
        debt=0,
    )
    # Same expiry: the older lot first.
    assert moves(first) == [(lot_of(february).pk, -70), (lot_of(march).pk, -50), (lot_of(march_too).pk, -30)]
    entry = Entry.objects.get(pk=first.entry_id)
    assert (entry.balance_after, entry.reference, entry.memo_code, entry.memo_params) == (
        100,
        "catalog.order:1",
        "catalog.redeemed",
        MUG,
    )

    second = spend(member, 40, "s2")
    assert moves(second) == [(lot_of(latest).pk, -40)]
    assert remaining(latest, march, february, march_too) == [60, 0, 0, 0]
    assert totals(member) == (60, 0, 0)
    assert lifetime(member) == (250, 190, 0)


def test_points_that_never_expire_are_spent_last(member, clock):
    set_policy(mode=ExpiryMode.NEVER)
    forever = earn(member, 100, "a")
    dated = earn(member, 50, "b", expires_at=datetime(2030, 1, 1, tzinfo=SHANGHAI))

    receipt = spend(member, 60, "s")

    assert moves(receipt) == [(lot_of(dated).pk, -50), (lot_of(forever).pk, -10)]


def test_spend_of_the_whole_balance_leaves_zero(member, clock):
    earn(member, 100, "a")
    assert spend(member, 100, "s").balance == 0
    assert totals(member) == (0, 0, 0)
