"""Operator adjustments (``points_adjust``): points added or removed with a reason and an actor.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from points import services
from points.enums import EntryKind
from points.exceptions import EntryNotFoundError, InsufficientPointsError, InvalidReasonError
from points.models import Entry
from tests.points.helpers import DEFAULT_EXPIRY, SHANGHAI, earn, lifetime, lot_of, moves, refused, reverse

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


def test_adjustments_add_and_remove_points_with_reason_and_actor(member, staff_actor, clock):
    plus = services.points_adjust(
        user_id=member.pk,
        amount=50,
        reason="  Goodwill for a late delivery ",
        actor_id=staff_actor.pk,
        idempotency_key="a1",
    )
    sooner = earn(member, 30, "e", expires_at=datetime(2025, 2, 1, tzinfo=SHANGHAI))

    minus = services.points_adjust(
        user_id=member.pk, amount=-40, reason="Duplicate credit", actor_id=staff_actor.pk, idempotency_key="a2"
    )

    assert (plus.kind, plus.amount, plus.balance) == (EntryKind.ADJUST, 50, 50)
    assert (minus.kind, minus.amount, minus.balance) == (EntryKind.ADJUST, -40, 40)
    added = Entry.objects.get(pk=plus.entry_id)
    assert (added.memo, added.actor_id) == ("Goodwill for a late delivery", staff_actor.pk)
    removed = Entry.objects.get(pk=minus.entry_id)
    assert (removed.memo, removed.actor_id) == ("Duplicate credit", staff_actor.pk)
    assert lot_of(plus).expires_at == DEFAULT_EXPIRY
    assert moves(minus) == [(lot_of(sooner).pk, -30), (lot_of(plus).pk, -10)]
    assert lifetime(member) == (80, 0, 0)


def test_a_negative_adjustment_above_the_balance_is_refused(member, staff_actor, clock):
    earn(member, 40, "e")
    with refused(InsufficientPointsError, "you have 40, this needs 41"):
        services.points_adjust(
            user_id=member.pk, amount=-41, reason="Fraud", actor_id=staff_actor.pk, idempotency_key="a"
        )


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_adjustment_needs_a_reason(member, staff_actor, reason):
    earn(member, 40, "e")
    with refused(InvalidReasonError):
        services.points_adjust(user_id=member.pk, amount=5, reason=reason, actor_id=staff_actor.pk, idempotency_key="a")


def test_a_positive_adjustment_can_be_reversed_but_a_negative_one_cannot(member, staff_actor, clock):
    plus = services.points_adjust(
        user_id=member.pk, amount=50, reason="x", actor_id=staff_actor.pk, idempotency_key="a1"
    )
    minus = services.points_adjust(
        user_id=member.pk, amount=-10, reason="y", actor_id=staff_actor.pk, idempotency_key="a2"
    )
    with refused(EntryNotFoundError):
        reverse(member, minus, "r1")
    # 40 are left of the 50 added; the other 10 were taken back already and become owed.
    receipt = reverse(member, plus, "r2")
    assert (receipt.amount, receipt.debt_change, receipt.balance, receipt.debt) == (-40, 10, 0, 10)
