"""The SQL statements one ledger write sends, pinned so round trips cannot creep back (issue #19).

Each count is exact and each statement is listed, so a change that adds a query fails here and
says which. The test runs inside the test's transaction: the service's own ``atomic`` then
sends SAVEPOINT/RELEASE where in production it sends BEGIN/COMMIT, so the counts are the
production ones. Postgres sends fewer than SQLite: there the replay read travels with the lot read
and a write's totals, entry, lots and movements are one statement (docs/decisions/0046), so each
test names both counts and the test runs on either.

Before issue #19's change (commit 6060e4c) a spend from one lot sent 16 statements, from two lots
17, a first spend 19, an earn 19, a refund 20, a hold's capture 20; after it (commit 803b402) 10,
10, 14, 15, 16 and 14. ``bench/spend.py`` prints the counts before and after on the benchmark's
database.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from points import services
from points.enums import EntryKind
from points.exceptions import IdempotencyConflictError
from points.models import Account, Entry, Lot, LotMovement
from points.services import _core
from tests.conftest import _restore_reference_data
from tests.factories import MemberFactory
from tests.points.helpers import T0

pytestmark = [pytest.mark.django_db]

BEGIN, END = "BEGIN", "END"
# SQLite has no row locks: its writers are serialised by BEGIN IMMEDIATE, the lock a plain read.
FOR_UPDATE = " FOR UPDATE" if connection.features.has_select_for_update else ""
LOCK = "SELECT points_account" + FOR_UPDATE

POSTGRES = connection.vendor == "postgresql"
# Postgres: the replay read travels with the lot read, and the totals, the entry, the lots and the
# movements are one statement (a data-modifying WITH; docs/decisions/0046).
READS = ["SELECT points_entry"] if POSTGRES else ["SELECT points_entry", "SELECT points_lot"]
WRITES = (
    ["WITH points_entry"]
    if POSTGRES
    else ["UPDATE points_account", "INSERT points_entry", "UPDATE points_lot", "INSERT points_lotmovement"]
)

# A spend from an account that has spent before, nothing due, nothing held.
SPEND = [
    BEGIN,  # the service's transaction (BEGIN; SAVEPOINT inside a caller's)
    LOCK,  # the account lock, always first
    # Postgres: one UNION ALL of the replay read (was this idempotency key used?) and the
    # spendable lots FIFO with the due ones that would need settling; elsewhere the two reads.
    *READS,
    # Postgres: one WITH of the totals UPDATE, the spend entry INSERT, one UPDATE for every lot
    # taken from and one INSERT for every movement; elsewhere those four statements.
    *WRITES,
    "SELECT integration_hostmember",  # the host webhook receiver of points_spent: the member's host ids
    END,
]
AFTER_WRITES = 2 + len(READS) + len(WRITES)
# A member's first spend: the referral reward tied to a first redemption is looked up.
FIRST_SPEND = [
    *SPEND[:AFTER_WRITES],
    "SELECT points_purchasepolicy",  # the returns window the referral reward vests after
    BEGIN,  # referral_first_order_record's own atomic
    "SELECT accounts_referral",  # was this member invited?
    END,
    *SPEND[AFTER_WRITES:],
]


def statements(call) -> list[str]:
    """What ``call`` sends, each statement as 'VERB table' (BEGIN/END for transaction control)."""
    with CaptureQueriesContext(connection) as captured:
        call()
    return [_shape(query["sql"]) for query in captured.captured_queries]


def _shape(sql: str) -> str:
    text = sql.strip()
    if re.match(r"(SAVEPOINT|BEGIN)\b", text):
        return BEGIN
    if re.match(r"(RELEASE SAVEPOINT|COMMIT)\b", text):
        return END
    verb = text.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', text, re.IGNORECASE)
    shape = f"{verb} {table.group(1) if table else '?'}"
    return shape + " FOR UPDATE" if text.endswith("FOR UPDATE") else shape


def spend(member, amount, key):
    return lambda: services.points_spend(user_id=member.pk, amount=amount, idempotency_key=key)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def member(clock, settings):
    # Members need a password, not a strong hash (as in tests/points/conftest.py).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The tier ladder and policies as migrated (a transactional test run before this one may
    # have flushed them): tier checks read them, and the counts include those reads.
    _restore_reference_data()
    member = MemberFactory()
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="earn:1")
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="earn:2")
    return member


def test_a_first_spend_is_10_statements_on_postgres_14_elsewhere(member):
    assert statements(spend(member, 10, "s1")) == FIRST_SPEND
    assert len(FIRST_SPEND) == (10 if POSTGRES else 14)


def test_a_spend_from_one_lot_is_6_statements_on_postgres_10_elsewhere(member):
    services.points_spend(user_id=member.pk, amount=1, idempotency_key="s0")
    assert statements(spend(member, 10, "s1")) == SPEND
    assert len(SPEND) == (6 if POSTGRES else 10)


def test_a_spend_from_two_lots_is_the_same_statements(member):
    services.points_spend(user_id=member.pk, amount=1, idempotency_key="s0")
    assert statements(spend(member, 150, "s1")) == SPEND
    # It did take from both lots, in that one UPDATE.
    assert sorted(Lot.objects.filter(account__user=member).values_list("remaining", flat=True)) == [0, 49]


def test_a_replay_is_5_statements_on_postgres_4_elsewhere(member):
    services.points_spend(user_id=member.pk, amount=10, idempotency_key="s1")
    found = ["SELECT points_entry", "SELECT points_entry"] if POSTGRES else ["SELECT points_entry"]
    # Postgres: the combined read finds the key, then its entry is read to compare and answer.
    assert statements(spend(member, 10, "s1")) == [BEGIN, LOCK, *found, END]


def test_a_spend_with_points_held_reads_the_key_holds_and_lots_apart(member, clock):
    services.points_spend(user_id=member.pk, amount=1, idempotency_key="s0")
    services.points_hold_place(user_id=member.pk, amount=5, key="h1", expires_at=T0 + timedelta(hours=1))
    # Due holds end between the replay read and the lot read, so those stay three reads: 8 (11 elsewhere).
    assert statements(spend(member, 10, "s1")) == [
        BEGIN,
        LOCK,
        "SELECT points_entry",
        "SELECT points_hold",
        "SELECT points_lot",
        *WRITES,
        *SPEND[-2:],
    ]


def test_a_spend_that_must_settle_is_22_statements_on_postgres_26_elsewhere(member, clock):
    services.points_spend(user_id=member.pk, amount=1, idempotency_key="s0")
    services.points_earn(user_id=member.pk, amount=50, idempotency_key="pending", available_at=T0 + timedelta(days=1))
    services.points_earn(user_id=member.pk, amount=50, idempotency_key="expiring", expires_at=T0 + timedelta(days=2))
    clock.move_to(T0 + timedelta(days=3))
    sent = statements(spend(member, 10, "s1"))
    # The lot read finds a due lot, so the account settles as before the change (vest: read, UPDATE
    # lot, UPDATE account, INSERT entry; expire: read, read account, INSERT entry and movement,
    # UPDATE lot and account, re-read account; tier check after vesting: 4 reads) and reads the
    # spendable lots again; then the spend itself as always.
    assert len(sent) == (22 if POSTGRES else 26), sent
    # The combined read (Postgres: with the replay read), vest, expire, the re-read.
    assert sent.count("SELECT points_lot") == (3 if POSTGRES else 4)
    # Vest, expire, and the spend (Postgres: in the WITH).
    assert sent.count("INSERT points_entry") == (2 if POSTGRES else 3)


def test_an_earn_is_15_statements(member):
    sent = statements(lambda: services.points_earn(user_id=member.pk, amount=5, idempotency_key="e3"))
    assert sent == [
        BEGIN,
        LOCK,
        "SELECT points_entry",  # replay
        "SELECT points_lot",  # settle: is any lot due? (before: three reads)
        "UPDATE points_account",
        "INSERT points_entry",
        "SELECT points_expirypolicy",  # when the new lot expires
        "INSERT points_lot",
        "INSERT points_lotmovement",
        "SELECT points_tier",  # tiers.upgrade_if_qualified: the ladder,
        "SELECT points_tierpolicy",  # its window,
        "SELECT points_entry",  # the qualifying points,
        "SELECT points_tier",  # the member's tier
        "SELECT integration_hostmember",  # the host webhook receiver of points_earned
        END,
    ]


def test_a_refund_is_16_statements_on_postgres_19_elsewhere(member):
    receipt = services.points_spend(user_id=member.pk, amount=150, idempotency_key="s1")
    sent = statements(
        lambda: services.points_refund(user_id=member.pk, spend_entry_id=receipt.entry_id, idempotency_key="r1")
    )
    assert sent == [
        BEGIN,
        LOCK,
        "SELECT points_entry",  # replay
        "SELECT points_entry",  # the spend
        "SELECT points_lotmovement",  # what it took, per lot
        "SELECT points_lotmovement",  # what earlier refunds gave back
        "SELECT points_lot",  # settle: is any lot due?
        *WRITES,  # totals, the refund entry, both lots refilled in one UPDATE, the movements
        "SELECT points_lot",  # which of them expired meanwhile
        BEGIN,  # the referral withdrawal's own atomic (a full refund of a first spend)
        "SELECT accounts_referral",
        END,
        BEGIN,  # the redeem-and-cancel loop check (decision 0056): its own atomic,
        "SELECT points_entry",  # the member's spends given back in the window
        END,
        END,
    ]
    assert len(sent) == (16 if POSTGRES else 19)


def test_a_hold_capture_is_11_statements_on_postgres_14_elsewhere(member, clock):
    services.points_spend(user_id=member.pk, amount=1, idempotency_key="s0")
    hold = services.points_hold_place(user_id=member.pk, amount=5, key="h1", expires_at=T0 + timedelta(hours=1))
    sent = statements(lambda: services.points_hold_capture(hold_id=hold.hold_id))
    assert sent == [
        BEGIN,
        "SELECT points_hold",  # whose hold (to lock the account first)
        LOCK,
        "SELECT points_hold" + FOR_UPDATE,
        "SELECT points_hold",  # settle: due holds (this account holds points)
        "SELECT points_lot",  # spendable lots, with the due ones
        "UPDATE points_account",  # held less the hold
        *WRITES,  # cached totals, the spend entry, the lots, the movements
        "SELECT integration_hostmember",
        "UPDATE points_hold",  # captured
        END,
    ]
    assert len(sent) == (11 if POSTGRES else 14)


def test_a_spend_records_its_movements_in_the_order_it_took_them(member):
    receipt = services.points_spend(user_id=member.pk, amount=150, idempotency_key="s1")
    movements = list(LotMovement.objects.filter(entry_id=receipt.entry_id).order_by("pk").values_list("lot", "amount"))
    first, second = Lot.objects.filter(account__user=member).order_by("expires_at", "pk").values_list("pk", flat=True)
    # Refunds give back the last taken first by reading movements by descending pk.
    assert movements == [(first, -100), (second, -50)]


def _ledger_state(member):
    account = Account.objects.get(user=member)
    return (
        (account.balance, account.lifetime_spent),
        list(Lot.objects.filter(account=account).order_by("pk").values_list("remaining", flat=True)),
        Entry.objects.filter(account=account).count(),
        LotMovement.objects.filter(entry__account=account).count(),
    )


def test_a_booking_that_would_overdraw_a_lot_is_refused_and_writes_nothing(member):
    before = _ledger_state(member)
    lot = Lot.objects.filter(account__user=member).order_by("pk").first()
    with pytest.raises(RuntimeError, match="ledger invariant broken"), transaction.atomic():
        account = Account.objects.select_for_update().get(user=member)
        _core.book(
            account,
            totals={"balance": -101, "spent": 101},
            takes=[(lot.pk, 101)],  # the lot holds 100
            sign=-1,
            kind=EntryKind.SPEND,
            amount=-101,
            idempotency_key="too-much",
        )
    assert _ledger_state(member) == before


def test_a_booking_with_another_members_key_is_a_conflict_and_writes_nothing(member):
    other = MemberFactory()
    services.points_earn(user_id=other.pk, amount=10, idempotency_key="theirs")
    before = _ledger_state(member)
    lot = Lot.objects.filter(account__user=member).order_by("pk").first()
    with pytest.raises(IdempotencyConflictError), transaction.atomic():
        account = Account.objects.select_for_update().get(user=member)
        _core.book(
            account,
            totals={"balance": -5, "spent": 5},
            takes=[(lot.pk, 5)],
            sign=-1,
            kind=EntryKind.SPEND,
            amount=-5,
            idempotency_key="theirs",
        )
    assert _ledger_state(member) == before
