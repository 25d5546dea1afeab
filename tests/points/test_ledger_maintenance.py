"""``ledger_maintain`` and the sweep that calls it (docs/decisions/0047).

A large expiry sweep leaves dead lot versions, pages whose all-visible bit its new rows cleared,
and stale statistics; ``points_expire`` ends such a sweep with ``ledger_maintain`` (VACUUM
ANALYZE, or ANALYZE alone inside a transaction). Postgres only: elsewhere it does nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from points import services
from points.models import Entry, Lot
from points.services import expiry
from tests.factories import MemberFactory
from tests.points.helpers import T0, earn, totals

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ledger_stays_consistent")]

EXPIRY = T0 + timedelta(days=10)


def _reltuples(table: str) -> float:
    """The planner's row estimate for ``table``: what ANALYZE refreshes (-1: never analyzed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def _forget_statistics() -> None:
    # Transactional: the test's rollback restores the catalog row.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1 WHERE oid = ANY(%s::regclass[])", [list(expiry.LEDGER_TABLES)]
        )


def _members_with_due_lots(count: int) -> list:
    members = MemberFactory.create_batch(count)
    for index, member in enumerate(members):
        earn(member, 100 + index, f"due-{index}", expires_at=EXPIRY)
        earn(member, 50, f"kept-{index}", expires_at=EXPIRY + timedelta(days=30))
    return members


def test_ledger_maintain_inside_a_transaction_analyzes_the_ledger_tables(db, clock):
    members = _members_with_due_lots(3)
    _forget_statistics()

    assert services.ledger_maintain() == "analyze"

    # ANALYZE counts every row of so small a table, those this transaction wrote included.
    assert _reltuples("points_lot") == Lot.objects.count() == 2 * len(members)
    assert _reltuples("points_entry") == Entry.objects.count()
    assert _reltuples("points_account") >= len(members)


def test_a_large_sweep_ends_with_the_maintenance_step(db, clock, monkeypatch):
    monkeypatch.setattr(expiry, "MAINTAIN_AFTER_LOTS", 3)
    members = _members_with_due_lots(3)
    _forget_statistics()
    clock.move_to(EXPIRY)

    report = services.points_expire()

    assert (report.lots, report.members) == (3, 3)
    assert [totals(member)[0] for member in members] == [50, 50, 50]
    assert _reltuples("points_lot") == 6
    assert _reltuples("points_lotmovement") == 9  # 6 earns, 3 expiries


@pytest.mark.parametrize(
    ("threshold", "maintain"), [pytest.param(4, True, id="below-threshold"), pytest.param(3, False, id="switched-off")]
)
def test_a_small_sweep_or_maintain_false_leaves_the_statistics_alone(db, clock, monkeypatch, threshold, maintain):
    monkeypatch.setattr(expiry, "MAINTAIN_AFTER_LOTS", threshold)
    _members_with_due_lots(3)
    _forget_statistics()
    clock.move_to(EXPIRY)

    report = services.points_expire(maintain=maintain)

    assert report.lots == 3
    assert _reltuples("points_lot") == -1


@pytest.mark.django_db(transaction=True)
def test_ledger_maintain_outside_a_transaction_vacuums_and_sets_the_visibility_map(clock):
    _members_with_due_lots(2)

    assert services.ledger_maintain() == "vacuum"

    with connection.cursor() as cursor:
        cursor.execute("SELECT relallvisible, relpages FROM pg_class WHERE oid = 'points_entry'::regclass")
        all_visible, pages = cursor.fetchone()
    # Every page of the entries is all-visible again: index-only scans need no heap fetch.
    assert all_visible == pages >= 1
    assert services.points_verify().ok
