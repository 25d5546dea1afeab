"""Expiry (``points_expire``): the exact instant a lot expires, batches, dry runs, both paths.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from points import services
from points.enums import EntryKind
from points.exceptions import FutureAsOfError, InsufficientPointsError
from points.models import Account, Entry, Lot, LotMovement
from points.services import BatchReport
from tests.factories import MemberFactory
from tests.points.helpers import (
    NOTHING_DONE,
    T0,
    earn,
    entries_of,
    ledger_snapshot,
    lifetime,
    lot_of,
    moves,
    refused,
    remaining,
    spend,
    totals,
)

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


EXPIRY = T0 + timedelta(days=10)
SQL_PATHS = [pytest.param(False, id="orm"), pytest.param(True, id="sql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("use_sql", SQL_PATHS)
def test_a_lot_expiring_exactly_at_the_sweep_instant_expires(member, clock, use_sql):
    due = earn(member, 100, "a", expires_at=EXPIRY)
    later = earn(member, 50, "b", expires_at=EXPIRY + timedelta(microseconds=1))

    clock.move_to(EXPIRY)
    report = services.points_expire(use_sql=use_sql)

    assert report == BatchReport(lots=1, points=100, members=1, batches=1, skipped_members=0)
    assert remaining(due, later) == [0, 50]
    expiry = Entry.objects.get(kind=EntryKind.EXPIRE)
    assert (expiry.amount, expiry.balance_after, expiry.pending_after, expiry.created_at) == (-100, 50, 0, EXPIRY)
    assert (expiry.idempotency_key, expiry.related_entry_id) == (None, None)
    assert moves(expiry) == [(lot_of(due).pk, -100)]
    assert totals(member) == (50, 0, 0)
    assert lifetime(member) == (150, 0, 100)

    assert services.points_expire(use_sql=use_sql) == NOTHING_DONE
    assert Entry.objects.filter(kind=EntryKind.EXPIRE).count() == 1


@pytest.mark.parametrize("use_sql", SQL_PATHS)
def test_one_microsecond_before_the_expiry_nothing_expires(member, clock, use_sql):
    earn(member, 100, "a", expires_at=EXPIRY)
    clock.move_to(EXPIRY - timedelta(microseconds=1))

    assert services.points_expire(use_sql=use_sql) == NOTHING_DONE
    assert spend(member, 100, "s").balance == 0


def test_spending_at_the_exact_expiry_instant_cannot_use_the_lot(member, clock):
    earn(member, 100, "a", expires_at=EXPIRY)
    later = earn(member, 50, "b", expires_at=EXPIRY + timedelta(microseconds=1))
    clock.move_to(EXPIRY)

    # The refused spend's inline expiry is rolled back with it: nothing is written.
    with refused(InsufficientPointsError, "you have 50, this needs 51"):
        spend(member, 51, "s1")

    receipt = spend(member, 50, "s2")
    assert entries_of(member)[2:] == [("expire", -100, 0, 0, 50), ("spend", -50, 0, 0, 0)]
    assert moves(receipt) == [(lot_of(later).pk, -50)]
    assert lifetime(member) == (150, 50, 100)


def test_points_that_vest_after_their_expiry_expire_as_they_vest(member, clock):
    earn(member, 100, "a", available_at=T0 + timedelta(days=1), expires_at=T0 + timedelta(days=2))
    clock.move_to(T0 + timedelta(days=3))

    # The sweep leaves pending lots alone; vesting makes them available and the settle expires them.
    assert services.points_expire() == NOTHING_DONE
    services.points_vest()

    assert [kind for kind, *_rest in entries_of(member)] == ["earn", "vest", "expire"]
    assert totals(member) == (0, 0, 0)
    assert lifetime(member) == (100, 0, 100)


@pytest.fixture
def due_scenario(clock):
    """Three members at EXPIRY: two with due lots (155 points in 3 lots), one with none."""
    first, second, third = MemberFactory(), MemberFactory(), MemberFactory()
    earn(first, 100, "1a", expires_at=EXPIRY)
    earn(first, 50, "1b", expires_at=EXPIRY)
    earn(first, 70, "1c")
    spend(first, 20, "1s")
    earn(second, 40, "2a", expires_at=EXPIRY - timedelta(days=1))
    earn(second, 25, "2b", expires_at=EXPIRY)
    spend(second, 40, "2s")
    earn(third, 10, "3a")
    earn(third, 60, "3p", available_at=EXPIRY + timedelta(days=1))
    clock.move_to(EXPIRY)
    return first, second, third


def test_expire_due_dry_run_counts_and_writes_nothing(due_scenario):
    before = ledger_snapshot()
    report = services.points_expire(dry_run=True)
    assert report == BatchReport(lots=3, points=155, members=2, batches=0, skipped_members=0)
    assert ledger_snapshot() == before


@pytest.mark.parametrize("use_sql", SQL_PATHS)
def test_expire_due_expires_every_due_lot_in_batches(due_scenario, use_sql):
    first, second, third = due_scenario

    report = services.points_expire(batch_size=1, use_sql=use_sql)

    assert report == BatchReport(lots=3, points=155, members=2, batches=2, skipped_members=0)
    assert entries_of(first)[-1] == ("expire", -130, 0, 0, 70)
    assert entries_of(second)[-1] == ("expire", -25, 0, 0, 0)
    assert [kind for kind, *_rest in entries_of(third)] == ["earn", "earn"]
    assert [totals(m) for m in due_scenario] == [(70, 0, 0), (0, 0, 0), (10, 60, 0)]
    assert [lifetime(m)[2] for m in due_scenario] == [130, 25, 0]
    assert services.points_expire(use_sql=use_sql) == NOTHING_DONE


def test_expire_due_as_of_a_past_instant_expires_only_what_was_due_then(due_scenario, clock):
    clock.move_to(EXPIRY + timedelta(days=5))
    before = services.points_expire(as_of=EXPIRY - timedelta(microseconds=1))
    assert before == NOTHING_DONE
    assert services.points_expire(as_of=EXPIRY).points == 155


def test_expire_due_refuses_a_future_as_of(due_scenario):
    with refused(FutureAsOfError):
        services.points_expire(as_of=EXPIRY + timedelta(microseconds=1))


@pytest.mark.postgres
def test_both_expiry_paths_give_identical_results(due_scenario):
    def outcome(use_sql: bool):
        with transaction.atomic():
            report = services.points_expire(batch_size=2, use_sql=use_sql)
            result = (report, [_normalised_ledger(m) for m in due_scenario])
            transaction.set_rollback(True)
        return result

    orm, sql = outcome(use_sql=False), outcome(use_sql=True)
    assert orm == sql
    assert orm[0] == BatchReport(lots=3, points=155, members=2, batches=1, skipped_members=0)


def _normalised_ledger(user) -> dict:
    """The member's ledger with row ids replaced by their order, to compare two runs."""
    account = Account.objects.get(user=user)
    entries = list(Entry.objects.filter(account=account).order_by("pk"))
    lots = list(Lot.objects.filter(account=account).order_by("pk"))
    entry_no = {e.pk: n for n, e in enumerate(entries)}
    lot_no = {lot.pk: n for n, lot in enumerate(lots)}
    return {
        "account": (account.balance, account.pending, account.debt, account.lifetime_expired, account.updated_at),
        "entries": [
            (e.kind, e.amount, e.pending_amount, e.debt_change, e.balance_after, e.pending_after, e.created_at)
            for e in entries
        ],
        "lots": [(lot.amount, lot.remaining, lot.status) for lot in lots],
        "movements": sorted(
            (entry_no[m.entry_id], lot_no[m.lot_id], m.amount) for m in LotMovement.objects.filter(lot__in=lots)
        ),
    }
