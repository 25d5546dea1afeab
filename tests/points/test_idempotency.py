"""Idempotency of every ledger service: a replay returns the first receipt; a reused key conflicts.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from points import services
from points.exceptions import IdempotencyConflictError
from points.services import Receipt
from tests.points.helpers import T0, earn, ledger_snapshot, refund, refused, reverse, spend, totals

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


def test_every_service_replays_the_same_request_without_writing(member, staff_actor, clock):
    earned = earn(member, 100, "e")
    spent = spend(member, 30, "s")
    refunded = refund(member, spent, "r", amount=10)
    reversed_ = reverse(member, earned, "v", amount=5)
    adjusted = services.points_adjust(
        user_id=member.pk, amount=7, reason="x", actor_id=staff_actor.pk, idempotency_key="a"
    )
    before = ledger_snapshot()

    assert earn(member, 100, "e") == _replayed(earned, balance=82)
    assert spend(member, 30, "s") == _replayed(spent, balance=82)
    assert refund(member, spent, "r", amount=10) == _replayed(refunded, balance=82)
    assert refund(member, spent, "r") == _replayed(refunded, balance=82)
    assert reverse(member, earned, "v", amount=5) == _replayed(reversed_, balance=82)
    assert services.points_adjust(
        user_id=member.pk, amount=7, reason="x", actor_id=staff_actor.pk, idempotency_key="a"
    ) == _replayed(adjusted, balance=82)
    assert ledger_snapshot() == before


def _replayed(first: Receipt, *, balance: int) -> Receipt:
    # A replay reports the entry it wrote first and the account as it is now.
    return Receipt(
        entry_id=first.entry_id,
        kind=first.kind,
        amount=first.amount,
        pending_amount=first.pending_amount,
        debt_change=first.debt_change,
        balance=balance,
        pending=first.pending,
        debt=first.debt,
        replayed=True,
    )


def test_an_immediate_replay_returns_the_first_receipt(member, clock):
    first = earn(member, 100, "e")
    again = earn(member, 100, "e")
    assert again == dataclasses.replace(first, replayed=True)


def test_a_pending_earn_replays_after_it_vested(member, clock):
    first = earn(member, 100, "e", available_at=T0 + timedelta(days=1))
    clock.move_to(T0 + timedelta(days=2))
    services.points_vest()
    again = earn(member, 100, "e", available_at=T0 + timedelta(days=1))
    assert (again.entry_id, again.replayed) == (first.entry_id, True)
    assert totals(member) == (100, 0, 0)


def test_a_retry_after_its_expiry_passed_still_replays(member, clock):
    first = earn(member, 100, "e", expires_at=T0 + timedelta(days=1))
    clock.move_to(T0 + timedelta(days=2))
    again = earn(member, 100, "e", expires_at=T0 + timedelta(days=1))
    assert (again.entry_id, again.replayed) == (first.entry_id, True)


def test_a_key_reused_with_a_different_amount_kind_or_member_conflicts(member, other_member, clock):
    earn(member, 100, "k")
    spend(member, 10, "sk")
    with refused(IdempotencyConflictError, "already used for a different operation"):
        earn(member, 99, "k")
    with refused(IdempotencyConflictError):
        spend(member, 100, "k")
    with refused(IdempotencyConflictError):
        spend(member, 11, "sk")
    with refused(IdempotencyConflictError):
        earn(other_member, 100, "k")


def test_a_refund_key_reused_for_another_spend_conflicts(member, clock):
    # Found by this suite: it used to return the first refund's receipt as a replay, so the
    # second spend was reported refunded but never was.
    earn(member, 100, "e")
    first = spend(member, 10, "s1")
    second = spend(member, 10, "s2")
    refund(member, first, "r")
    with refused(IdempotencyConflictError):
        refund(member, second, "r")


def test_a_reversal_key_reused_for_another_earn_conflicts(member, clock):
    first = earn(member, 100, "e1")
    second = earn(member, 100, "e2")
    reverse(member, first, "r", amount=10)
    with refused(IdempotencyConflictError):
        reverse(member, second, "r", amount=10)
