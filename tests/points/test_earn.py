"""Earning points (``points_earn``): the lot it opens, its expiry, pending points.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from points.enums import EntryKind, ExpiryMode, ExpiryRounding, LotStatus
from points.exceptions import InvalidExpiryError
from points.models import Entry
from points.services import Receipt
from tests.points.helpers import (
    DEFAULT_EXPIRY,
    SHANGHAI,
    T0,
    earn,
    lifetime,
    lot_of,
    moves,
    refused,
    reverse,
    set_policy,
    spend,
    totals,
)

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


def test_earn_opens_an_available_lot_that_expires_by_the_policy(member, clock):
    receipt = earn(
        member, 100, "order:1:earn", reference="shop.order:1", memo_code="points.purchase", memo_params={"order": "1"}
    )

    assert receipt == Receipt(
        entry_id=receipt.entry_id,
        kind=EntryKind.EARN,
        amount=100,
        pending_amount=0,
        debt_change=0,
        balance=100,
        pending=0,
        debt=0,
    )
    entry = Entry.objects.get(pk=receipt.entry_id)
    assert (entry.kind, entry.amount, entry.pending_amount, entry.balance_after, entry.pending_after) == (
        "earn",
        100,
        0,
        100,
        0,
    )
    assert (entry.reference, entry.memo_code, entry.memo_params, entry.idempotency_key, entry.created_at) == (
        "shop.order:1",
        "points.purchase",
        {"order": "1"},
        "order:1:earn",
        T0,
    )
    lot = lot_of(receipt)
    assert (lot.amount, lot.remaining, lot.status) == (100, 100, LotStatus.AVAILABLE)
    assert (lot.earned_at, lot.available_at, lot.expires_at) == (T0, T0, DEFAULT_EXPIRY)
    assert moves(receipt) == [(lot.pk, 100)]
    assert totals(member) == (100, 0, 0)
    assert lifetime(member) == (100, 0, 0)


def test_earn_with_a_future_available_at_stays_pending(member, clock):
    receipt = earn(member, 100, "e", available_at=T0 + timedelta(days=7))

    assert (receipt.amount, receipt.pending_amount, receipt.balance, receipt.pending) == (0, 100, 0, 100)
    entry = Entry.objects.get(pk=receipt.entry_id)
    assert (entry.amount, entry.pending_amount, entry.balance_after, entry.pending_after) == (0, 100, 0, 100)
    lot = lot_of(receipt)
    assert (lot.remaining, lot.status, lot.available_at) == (100, LotStatus.PENDING, T0 + timedelta(days=7))
    assert totals(member) == (0, 100, 0)
    assert lifetime(member) == (0, 0, 0)


def test_earn_with_an_explicit_expiry_keeps_it(member, clock):
    receipt = earn(member, 10, "e", expires_at=T0 + timedelta(hours=1))
    assert lot_of(receipt).expires_at == T0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("policy", "expires_at"),
    [
        ({"mode": ExpiryMode.NEVER}, None),
        ({"mode": ExpiryMode.CALENDAR_YEAR_END}, datetime(2026, 1, 1, tzinfo=SHANGHAI)),
        ({"months": 6, "rounding": ExpiryRounding.END_OF_MONTH}, datetime(2025, 8, 1, tzinfo=SHANGHAI)),
        ({"months": 1, "rounding": ExpiryRounding.NONE}, datetime(2025, 2, 10, 12, tzinfo=SHANGHAI)),
    ],
)
def test_earn_follows_the_operators_expiry_policy(member, clock, policy, expires_at):
    set_policy(**policy)
    assert lot_of(earn(member, 10, "e")).expires_at == expires_at


def test_the_expiry_day_is_the_business_date_not_the_servers_utc_date(member):
    # 23:59:59 and 00:00:00 in Shanghai are 15:59:59 and 16:00:00 UTC on the same UTC date.
    with time_machine.travel(datetime(2025, 1, 10, 23, 59, 59, tzinfo=SHANGHAI), tick=False):
        late = earn(member, 10, "late")
    with time_machine.travel(datetime(2025, 1, 11, 0, 0, 0, tzinfo=SHANGHAI), tick=False):
        early = earn(member, 10, "early")
    assert lot_of(late).expires_at == datetime(2026, 1, 11, tzinfo=SHANGHAI)
    assert lot_of(early).expires_at == datetime(2026, 1, 12, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("available_in", "expires_in"),
    [
        (None, timedelta(0)),
        (None, timedelta(days=-1)),
        (timedelta(days=7), timedelta(days=7)),
        (timedelta(days=7), timedelta(days=3)),
        (timedelta(days=-7), timedelta(days=-1)),
    ],
)
def test_earn_refuses_points_that_would_expire_before_they_can_be_spent(member, clock, available_in, expires_in):
    available_at = T0 + available_in if available_in is not None else None
    with refused(InvalidExpiryError, "would expire before they could be spent"):
        earn(member, 50, "e", available_at=available_at, expires_at=T0 + expires_in)


def test_an_already_expired_earn_while_in_debt_is_refused_cleanly(member, clock):
    # Found by this suite: it used to open an available, already expired lot and then crash
    # with "lots do not cover the balance" while paying the debt from it.
    first = earn(member, 100, "e1")
    spend(member, 100, "s1")
    reverse(member, first, "r1")
    assert totals(member) == (0, 0, 100)
    with refused(InvalidExpiryError):
        earn(member, 50, "late", expires_at=T0 - timedelta(days=1))


def test_a_pending_earn_is_pending_even_when_the_clock_moves_during_the_call(member, monkeypatch):
    # Found by this suite: the lot's status used to be decided by a second clock reading, so
    # an available_at between the two readings booked pending points into an available lot.
    ticks = itertools.count()
    monkeypatch.setattr(timezone, "now", lambda: T0 + timedelta(milliseconds=next(ticks)))
    receipt = earn(member, 100, "e", available_at=T0 + timedelta(microseconds=500))
    assert lot_of(receipt).status == LotStatus.PENDING
    assert totals(member) == (0, 100, 0)
