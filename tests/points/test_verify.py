"""``points_verify`` is the oracle of every other ledger test, so it must itself catch each break.

The ledger is built through ``points.services`` as everywhere else. Then, and only in
this file, one row is damaged directly, the way a bug or a hand-edit in the database
would, and the test checks that exactly the invariants that row breaks are reported,
naming the damaged row.

Three checks (no negative totals, lots within 0..amount, one entry per key) mirror database
constraints, so no single damaged row can reach them; they stand guard in case a
constraint is ever dropped.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import F

from points import services
from points.enums import EntryKind
from points.models import Account, Entry, Lot, LotMovement

T0 = datetime(2025, 1, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def ledger(member):
    """One member: earn 100, spend 30, refund 10. Returns the rows a corruption aims at."""
    with time_machine.travel(T0, tick=False):
        earned = services.points_earn(user_id=member.pk, amount=100, idempotency_key="e")
        spent = services.points_spend(user_id=member.pk, amount=30, idempotency_key="s")
        refunded = services.points_refund(
            user_id=member.pk, spend_entry_id=spent.entry_id, idempotency_key="r", amount=10
        )
    assert services.points_verify().ok
    return {
        "account": Account.objects.get(user=member).pk,
        "lot": Lot.objects.get(entry_id=earned.entry_id).pk,
        "spend": spent.entry_id,
        "refund": refunded.entry_id,
        "spend_movement": LotMovement.objects.get(entry_id=spent.entry_id).pk,
    }


def _damage_balance(rows):
    Account.objects.filter(pk=rows["account"]).update(balance=F("balance") + 5)


def _damage_pending(rows):
    Account.objects.filter(pk=rows["account"]).update(pending=F("pending") + 5)


def _damage_debt(rows):
    Account.objects.filter(pk=rows["account"]).update(debt=F("debt") + 5)


def _damage_lot(rows):
    Lot.objects.filter(pk=rows["lot"]).update(remaining=F("remaining") - 5)


def _damage_movement(rows):
    LotMovement.objects.filter(pk=rows["spend_movement"]).update(amount=-25)


def _damage_balance_after(rows):
    Entry.objects.filter(pk=rows["spend"]).update(balance_after=F("balance_after") + 1)


def _damage_lifetime(rows):
    Account.objects.filter(pk=rows["account"]).update(lifetime_spent=F("lifetime_spent") + 1)


def _damage_refund(rows):
    # A refund of 40 against a spend of 30, with its movement to match.
    Entry.objects.filter(pk=rows["refund"]).update(amount=40, balance_after=F("balance_after") + 30)
    LotMovement.objects.filter(entry_id=rows["refund"]).update(amount=40)
    Lot.objects.filter(pk=rows["lot"]).update(remaining=F("remaining") + 30, amount=F("amount") + 30)
    Account.objects.filter(pk=rows["account"]).update(
        balance=F("balance") + 30, lifetime_spent=F("lifetime_spent") - 30
    )


@pytest.mark.parametrize(
    ("damage", "broken"),
    [
        (_damage_balance, {"balance_equals_entries": "account", "balance_equals_lots": "account"}),
        (_damage_pending, {"balance_equals_entries": "account", "balance_equals_lots": "account"}),
        (_damage_debt, {"balance_equals_entries": "account"}),
        (_damage_lot, {"balance_equals_lots": "account", "lot_equals_movements": "lot"}),
        (_damage_movement, {"lot_equals_movements": "lot", "entry_equals_movements": "spend"}),
        (_damage_balance_after, {"balance_after_is_running_sum": "spend"}),
        (_damage_lifetime, {"balance_equals_entries": "account"}),
        (_damage_refund, {"refund_within_spend": "spend"}),
    ],
    ids=lambda value: value.__name__.removeprefix("_damage_") if callable(value) else "",
)
def test_verify_reports_exactly_the_invariants_a_damaged_row_breaks(ledger, damage, broken):
    damage(ledger)

    report = services.points_verify()

    assert not report.ok
    assert sorted((v.check, v.row_id) for v in report.violations) == sorted(
        (check, ledger[row]) for check, row in broken.items()
    )


def test_verify_counts_the_rows_it_checked(ledger):
    report = services.points_verify()
    assert report.checks == len(services.CHECKS)
    assert report.counts == {
        "points_account": Account.objects.count(),
        "points_entry": Entry.objects.count(),
        "points_lot": Lot.objects.count(),
        "points_lotmovement": LotMovement.objects.count(),
    }
    assert Entry.objects.filter(kind=EntryKind.REFUND).count() == 1


@pytest.mark.django_db
def test_verify_sums_are_exact_bigints_and_refuse_to_overflow():
    """Migration 0019's ``points_sum_bigint``: exact where a float would round, an error on overflow."""
    from django.db import DataError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the aggregate exists on Postgres only; SQLite's SUM is already an integer")
    with connection.cursor() as cursor:
        cursor.execute("SELECT points_sum_bigint(x) FROM (VALUES (9007199254740993::bigint), (1::bigint)) t(x)")
        assert cursor.fetchone()[0] == 9007199254740994
        cursor.execute("SELECT points_sum_bigint(x) FROM (VALUES (NULL::bigint)) t(x)")
        assert cursor.fetchone()[0] is None
        with pytest.raises(DataError), transaction.atomic():
            cursor.execute("SELECT points_sum_bigint(x) FROM (VALUES (9223372036854775807::bigint), (1::bigint)) t(x)")
