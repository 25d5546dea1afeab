"""The ledger services, one behaviour per test, with exact balances, entries, lots and movements.

Ledger state is only ever created through ``points.services``; the models are read to
check what was written. Every refusal also checks that nothing at all was written, and
after every test the whole ledger must pass ``points_verify``.
"""

from __future__ import annotations

import dataclasses
import itertools
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from points import services
from points.enums import EntryKind, ExpiryMode, ExpiryRounding, LotStatus
from points.exceptions import (
    AccountNotFoundError,
    EntryNotFoundError,
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidAmountError,
    InvalidReasonError,
    NothingToRefundError,
)
from points.models import Account, Entry, ExpiryPolicy, Lot, LotMovement
from points.services import BatchReport, FutureAsOfError, InvalidExpiryError, Receipt
from points.signals import expiry_reminder_due
from tests.factories import MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=SHANGHAI)
# The default policy: 12 rolling months, to the end of that business day (exclusive midnight).
DEFAULT_EXPIRY = datetime(2026, 1, 11, 0, 0, tzinfo=SHANGHAI)
NOTHING_DONE = BatchReport()


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    report = services.points_verify()
    assert report.ok, report.violations


MUG = {"name": {"zh": "马克杯", "en": "Mug"}, "quantity": 2}


def earn(user, amount, key, **kwargs) -> Receipt:
    return services.points_earn(user_id=user.pk, amount=amount, idempotency_key=key, **kwargs)


def spend(user, amount, key, **kwargs) -> Receipt:
    return services.points_spend(user_id=user.pk, amount=amount, idempotency_key=key, **kwargs)


def refund(user, spend_receipt, key, amount=None) -> Receipt:
    return services.points_refund(
        user_id=user.pk, spend_entry_id=spend_receipt.entry_id, idempotency_key=key, amount=amount
    )


def reverse(user, earn_receipt, key, amount=None) -> Receipt:
    return services.points_reverse(
        user_id=user.pk, earn_entry_id=earn_receipt.entry_id, idempotency_key=key, amount=amount
    )


def totals(user) -> tuple[int, int, int]:
    """(available, pending, owed) of the member's account row."""
    account = Account.objects.get(user=user)
    return account.balance, account.pending, account.debt


def lifetime(user) -> tuple[int, int, int]:
    """(earned, spent, expired) lifetime totals."""
    account = Account.objects.get(user=user)
    return account.lifetime_earned, account.lifetime_spent, account.lifetime_expired


def lot_of(receipt: Receipt) -> Lot:
    return Lot.objects.get(entry_id=receipt.entry_id)


def remaining(*receipts: Receipt) -> list[int]:
    return [lot_of(r).remaining for r in receipts]


def moves(receipt_or_entry) -> list[tuple[int, int]]:
    entry_id = getattr(receipt_or_entry, "entry_id", None) or receipt_or_entry.pk
    return list(LotMovement.objects.filter(entry_id=entry_id).order_by("pk").values_list("lot_id", "amount"))


def entries_of(user) -> list[tuple[str, int, int, int, int]]:
    """(kind, amount, pending_amount, debt_change, balance_after) of every entry, oldest first."""
    return list(
        Entry.objects.filter(account__user=user)
        .order_by("pk")
        .values_list("kind", "amount", "pending_amount", "debt_change", "balance_after")
    )


def ledger_snapshot() -> tuple[list[dict], ...]:
    return (
        list(Account.objects.order_by("pk").values()),
        list(Entry.objects.order_by("pk").values()),
        list(Lot.objects.order_by("pk").values()),
        list(LotMovement.objects.order_by("pk").values()),
    )


@contextmanager
def refused(error: type[Exception], match: str | None = None):
    """The call inside raises ``error`` and leaves every ledger table exactly as it was."""
    before = ledger_snapshot()
    with pytest.raises(error, match=match) as info:
        yield info
    assert ledger_snapshot() == before


def set_policy(**fields) -> None:
    # The policy is operator configuration (edited in admin), not ledger state.
    ExpiryPolicy.objects.filter(pk=1).update(**fields)


# --- earn ---------------------------------------------------------------------------


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


# --- vest ---------------------------------------------------------------------------


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
    assert services.points_vest_due() == NOTHING_DONE
    assert totals(member) == (0, 100, 0)

    clock.move_to(T0 + timedelta(days=7))
    assert services.points_vest_due() == BatchReport(lots=0, points=100, members=1, batches=1, skipped_members=0)
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

    assert services.points_vest_due() == NOTHING_DONE
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


# --- spend --------------------------------------------------------------------------


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


# --- refund -------------------------------------------------------------------------


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


# --- reverse ------------------------------------------------------------------------


def test_reversing_a_pending_earn_cancels_it(member, clock):
    pending = earn(member, 100, "e", available_at=T0 + timedelta(days=7))

    receipt = reverse(member, pending, "r")

    assert receipt == Receipt(
        entry_id=receipt.entry_id,
        kind=EntryKind.REVERSE,
        amount=0,
        pending_amount=-100,
        debt_change=0,
        balance=0,
        pending=0,
        debt=0,
    )
    lot = lot_of(pending)
    assert (lot.remaining, lot.status) == (0, LotStatus.CANCELLED)
    assert moves(receipt) == [(lot.pk, -100)]
    clock.move_to(T0 + timedelta(days=8))
    assert services.points_vest_due() == NOTHING_DONE
    assert totals(member) == (0, 0, 0)
    assert lifetime(member) == (0, 0, 0)


def test_partly_reversing_a_pending_earn_leaves_the_rest_to_vest(member, clock):
    pending = earn(member, 100, "e", available_at=T0 + timedelta(days=7))

    assert reverse(member, pending, "r1", amount=40).pending == 60
    assert (lot_of(pending).remaining, lot_of(pending).status) == (60, LotStatus.PENDING)

    clock.move_to(T0 + timedelta(days=7))
    services.points_vest_due()
    assert totals(member) == (60, 0, 0)
    assert lifetime(member) == (60, 0, 0)

    with refused(NothingToRefundError, "left to give back: 60 points"):
        reverse(member, pending, "r2", amount=61)
    receipt = reverse(member, pending, "r2")
    assert (receipt.amount, receipt.pending_amount, receipt.balance) == (-60, 0, 0)
    assert lifetime(member) == (0, 0, 0)


def test_reversing_an_unspent_earn_takes_its_own_lot(member, clock):
    first = earn(member, 100, "a")
    other = earn(member, 50, "b", expires_at=datetime(2025, 2, 1, tzinfo=SHANGHAI))

    receipt = reverse(member, first, "r")

    assert (receipt.amount, receipt.debt_change, receipt.balance) == (-100, 0, 50)
    assert moves(receipt) == [(lot_of(first).pk, -100)]
    assert remaining(first, other) == [0, 50]
    assert lot_of(first).status == LotStatus.AVAILABLE
    assert lifetime(member) == (50, 0, 0)


def test_reversing_a_partly_spent_earn_takes_the_rest_from_other_lots_by_expiry(member, clock):
    reversed_earn = earn(member, 100, "a")
    sooner = earn(member, 80, "b", expires_at=T0 + timedelta(days=20))
    spend(member, 120, "s")
    assert remaining(reversed_earn, sooner) == [60, 0]
    same_expiry = earn(member, 50, "c")
    earlier_expiry = earn(member, 30, "d", expires_at=T0 + timedelta(days=60))

    receipt = reverse(member, reversed_earn, "r")

    assert (receipt.amount, receipt.debt_change, receipt.balance, receipt.debt) == (-100, 0, 40, 0)
    assert moves(receipt) == [
        (lot_of(reversed_earn).pk, -60),
        (lot_of(earlier_expiry).pk, -30),
        (lot_of(same_expiry).pk, -10),
    ]
    assert remaining(reversed_earn, sooner, same_expiry, earlier_expiry) == [0, 0, 40, 0]
    assert lifetime(member) == (160, 120, 0)


def test_a_reversal_the_balance_cannot_cover_becomes_debt_that_later_points_repay(member, staff_actor, clock):
    first = earn(member, 100, "e1")
    spent = spend(member, 90, "s1")

    reversal = reverse(member, first, "r1")
    assert (reversal.amount, reversal.debt_change, reversal.balance, reversal.debt) == (-10, 90, 0, 90)
    assert lifetime(member) == (0, 90, 0)

    # An earn pays the debt first.
    second = earn(member, 50, "e2")
    assert (second.amount, second.balance, second.debt) == (50, 0, 40)
    repay = Entry.objects.get(kind=EntryKind.DEBT_REPAY)
    assert (repay.amount, repay.debt_change, repay.balance_after, repay.related_entry_id) == (
        -50,
        -50,
        0,
        second.entry_id,
    )
    assert repay.idempotency_key is None
    assert moves(repay) == [(lot_of(second).pk, -50)]

    # So do points that vest.
    earn(member, 30, "e3", available_at=T0 + timedelta(days=1))
    assert totals(member) == (0, 30, 40)
    clock.move_to(T0 + timedelta(days=1))
    services.points_vest_due()
    assert totals(member) == (0, 0, 10)

    # And a refund.
    given_back = refund(member, spent, "rf1", amount=25)
    assert (given_back.amount, given_back.balance, given_back.debt) == (25, 15, 0)

    # With the debt paid, points stay.
    staff_adjust = services.points_adjust(
        user_id=member.pk, amount=5, reason="Goodwill", actor_id=staff_actor.pk, idempotency_key="adj"
    )
    assert (staff_adjust.balance, staff_adjust.debt) == (20, 0)
    assert [kind for kind, *_rest in entries_of(member)] == [
        "earn",
        "spend",
        "reverse",
        "earn",
        "debt_repay",
        "earn",
        "vest",
        "debt_repay",
        "refund",
        "debt_repay",
        "adjust",
    ]
    assert lifetime(member) == (85, 65, 0)


def test_a_positive_adjustment_repays_debt(member, staff_actor, clock):
    first = earn(member, 100, "e1")
    spend(member, 100, "s1")
    reverse(member, first, "r1")
    assert totals(member) == (0, 0, 100)

    receipt = services.points_adjust(
        user_id=member.pk, amount=30, reason="Correction", actor_id=staff_actor.pk, idempotency_key="adj"
    )

    assert (receipt.amount, receipt.balance, receipt.debt) == (30, 0, 70)


def test_reversing_part_of_an_earn_twice_never_exceeds_it(member, clock):
    first = earn(member, 100, "e1")
    reverse(member, first, "r1", amount=70)
    with refused(NothingToRefundError, "left to give back: 30 points"):
        reverse(member, first, "r2", amount=31)
    assert reverse(member, first, "r3").amount == -30
    with refused(NothingToRefundError, "left to give back: 0 points"):
        reverse(member, first, "r4")
    assert totals(member) == (0, 0, 0)


# --- adjust -------------------------------------------------------------------------


@pytest.fixture
def staff_actor(db):
    return StaffFactory()


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


# --- expiry -------------------------------------------------------------------------

EXPIRY = T0 + timedelta(days=10)
SQL_PATHS = [pytest.param(False, id="orm"), pytest.param(True, id="sql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("use_sql", SQL_PATHS)
def test_a_lot_expiring_exactly_at_the_sweep_instant_expires(member, clock, use_sql):
    due = earn(member, 100, "a", expires_at=EXPIRY)
    later = earn(member, 50, "b", expires_at=EXPIRY + timedelta(microseconds=1))

    clock.move_to(EXPIRY)
    report = services.points_expire_due(use_sql=use_sql)

    assert report == BatchReport(lots=1, points=100, members=1, batches=1, skipped_members=0)
    assert remaining(due, later) == [0, 50]
    expiry = Entry.objects.get(kind=EntryKind.EXPIRE)
    assert (expiry.amount, expiry.balance_after, expiry.pending_after, expiry.created_at) == (-100, 50, 0, EXPIRY)
    assert (expiry.idempotency_key, expiry.related_entry_id) == (None, None)
    assert moves(expiry) == [(lot_of(due).pk, -100)]
    assert totals(member) == (50, 0, 0)
    assert lifetime(member) == (150, 0, 100)

    assert services.points_expire_due(use_sql=use_sql) == NOTHING_DONE
    assert Entry.objects.filter(kind=EntryKind.EXPIRE).count() == 1


@pytest.mark.parametrize("use_sql", SQL_PATHS)
def test_one_microsecond_before_the_expiry_nothing_expires(member, clock, use_sql):
    earn(member, 100, "a", expires_at=EXPIRY)
    clock.move_to(EXPIRY - timedelta(microseconds=1))

    assert services.points_expire_due(use_sql=use_sql) == NOTHING_DONE
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
    assert services.points_expire_due() == NOTHING_DONE
    services.points_vest_due()

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
    report = services.points_expire_due(dry_run=True)
    assert report == BatchReport(lots=3, points=155, members=2, batches=0, skipped_members=0)
    assert ledger_snapshot() == before


@pytest.mark.parametrize("use_sql", SQL_PATHS)
def test_expire_due_expires_every_due_lot_in_batches(due_scenario, use_sql):
    first, second, third = due_scenario

    report = services.points_expire_due(batch_size=1, use_sql=use_sql)

    assert report == BatchReport(lots=3, points=155, members=2, batches=2, skipped_members=0)
    assert entries_of(first)[-1] == ("expire", -130, 0, 0, 70)
    assert entries_of(second)[-1] == ("expire", -25, 0, 0, 0)
    assert [kind for kind, *_rest in entries_of(third)] == ["earn", "earn"]
    assert [totals(m) for m in due_scenario] == [(70, 0, 0), (0, 0, 0), (10, 60, 0)]
    assert [lifetime(m)[2] for m in due_scenario] == [130, 25, 0]
    assert services.points_expire_due(use_sql=use_sql) == NOTHING_DONE


def test_expire_due_as_of_a_past_instant_expires_only_what_was_due_then(due_scenario, clock):
    clock.move_to(EXPIRY + timedelta(days=5))
    before = services.points_expire_due(as_of=EXPIRY - timedelta(microseconds=1))
    assert before == NOTHING_DONE
    assert services.points_expire_due(as_of=EXPIRY).points == 155


def test_expire_due_refuses_a_future_as_of(due_scenario):
    with refused(FutureAsOfError):
        services.points_expire_due(as_of=EXPIRY + timedelta(microseconds=1))


@pytest.mark.postgres
def test_both_expiry_paths_give_identical_results(due_scenario):
    def outcome(use_sql: bool):
        with transaction.atomic():
            report = services.points_expire_due(batch_size=2, use_sql=use_sql)
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


# --- reminders ----------------------------------------------------------------------


@pytest.fixture
def reminders():
    sent = []

    def record(sender, user_id, points, expires_on, dates, **kwargs):
        sent.append({"user_id": user_id, "points": points, "expires_on": expires_on, "dates": dates})

    expiry_reminder_due.connect(record)
    yield sent
    expiry_reminder_due.disconnect(record)


def test_expiry_reminders_are_sent_once_per_lot(member, other_member, clock, reminders):
    first = earn(member, 100, "a", expires_at=T0 + timedelta(days=20))
    second = earn(member, 40, "b", expires_at=T0 + timedelta(days=25))
    outside = earn(member, 70, "c", expires_at=T0 + timedelta(days=40))
    other = earn(other_member, 10, "d", expires_at=T0 + timedelta(days=5))

    assert services.points_send_expiry_reminders() == 2
    # Each day's points on their own: 100 expire after 01-30 and 40 after 02-04, not 140 on 01-30.
    assert sorted(reminders, key=lambda r: r["user_id"]) == [
        {
            "user_id": member.pk,
            "points": 140,
            "expires_on": date(2025, 1, 30),
            "dates": [(date(2025, 1, 30), 100), (date(2025, 2, 4), 40)],
        },
        {
            "user_id": other_member.pk,
            "points": 10,
            "expires_on": date(2025, 1, 15),
            "dates": [(date(2025, 1, 15), 10)],
        },
    ]
    assert [lot_of(r).reminded_at for r in (first, second, outside, other)] == [T0, T0, None, T0]

    reminders.clear()
    assert services.points_send_expiry_reminders() == 0
    assert reminders == []

    clock.move_to(T0 + timedelta(days=15))
    assert services.points_send_expiry_reminders() == 1
    assert reminders == [
        {"user_id": member.pk, "points": 70, "expires_on": date(2025, 2, 19), "dates": [(date(2025, 2, 19), 70)]}
    ]


def test_expiry_reminders_skip_spent_and_expired_lots(member, clock, reminders):
    spent = earn(member, 50, "c", expires_at=T0 + timedelta(days=10))
    spend(member, 50, "s")
    lapsed = earn(member, 30, "b", expires_at=T0 + timedelta(days=1))
    earn(member, 100, "a", expires_at=T0 + timedelta(days=20))
    clock.move_to(T0 + timedelta(days=2))

    assert services.points_send_expiry_reminders(days=30) == 1
    assert reminders == [
        {"user_id": member.pk, "points": 100, "expires_on": date(2025, 1, 30), "dates": [(date(2025, 1, 30), 100)]}
    ]
    assert [lot_of(r).reminded_at for r in (spent, lapsed)] == [None, None]


# --- idempotency --------------------------------------------------------------------


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
    services.points_vest_due()
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


# --- bad input ----------------------------------------------------------------------

BAD_AMOUNTS = [0, -5, 1.5, "10", True, False, None, Decimal(10)]


@pytest.fixture
def funded(member, clock):
    """A member with an earn of 100 and a spend of 30 to aim refunds and reversals at."""
    return member, earn(member, 100, "e"), spend(member, 30, "s")


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_earn_refuses_an_amount_that_is_not_a_positive_whole_number(funded, amount):
    member, _earned, _spent = funded
    with refused(InvalidAmountError, "whole number greater than zero"):
        earn(member, amount, "bad")


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_spend_refuses_an_amount_that_is_not_a_positive_whole_number(funded, amount):
    member, _earned, _spent = funded
    with refused(InvalidAmountError):
        spend(member, amount, "bad")


@pytest.mark.parametrize("amount", [a for a in BAD_AMOUNTS if a is not None])
def test_refund_refuses_an_amount_that_is_not_a_positive_whole_number(funded, amount):
    member, _earned, spent = funded
    with refused(InvalidAmountError):
        refund(member, spent, "bad", amount=amount)


@pytest.mark.parametrize("amount", [a for a in BAD_AMOUNTS if a is not None])
def test_reverse_refuses_an_amount_that_is_not_a_positive_whole_number(funded, amount):
    member, earned, _spent = funded
    with refused(InvalidAmountError):
        reverse(member, earned, "bad", amount=amount)


@pytest.mark.parametrize("amount", [0, 1.5, "10", True, False, None, Decimal(10)])
def test_adjust_refuses_an_amount_that_is_not_a_nonzero_whole_number(funded, staff_actor, amount):
    member, _earned, _spent = funded
    with refused(InvalidAmountError):
        services.points_adjust(
            user_id=member.pk, amount=amount, reason="x", actor_id=staff_actor.pk, idempotency_key="b"
        )


def test_spend_above_the_balance_says_what_the_member_has_and_needs(funded):
    member, _earned, _spent = funded
    with refused(InsufficientPointsError) as info:
        spend(member, 71, "too-much")
    assert info.value.message == "Not enough points: you have 70, this needs 71."
    assert (info.value.code, info.value.params) == ("insufficient_points", {"available": 70, "required": 71})


def test_every_service_refuses_a_member_without_an_account(funded, staff_actor):
    _member, earned, spent = funded
    nobody = (User.objects.aggregate(top=Max("pk"))["top"] or 0) + 1000
    calls = [
        lambda: services.points_earn(user_id=nobody, amount=10, idempotency_key="x1"),
        lambda: services.points_spend(user_id=nobody, amount=10, idempotency_key="x2"),
        lambda: services.points_refund(user_id=nobody, spend_entry_id=spent.entry_id, idempotency_key="x3"),
        lambda: services.points_reverse(user_id=nobody, earn_entry_id=earned.entry_id, idempotency_key="x4"),
        lambda: services.points_adjust(
            user_id=nobody, amount=10, reason="x", actor_id=staff_actor.pk, idempotency_key="x5"
        ),
    ]
    for call in calls:
        with refused(AccountNotFoundError, "no points account"):
            call()


def test_refunding_another_members_spend_is_not_found(funded, other_member):
    _member, _earned, spent = funded
    earn(other_member, 50, "o")
    with refused(EntryNotFoundError, "does not exist for this member"):
        refund(other_member, spent, "steal")


@pytest.mark.parametrize("target", ["earn", "missing"])
def test_refunding_something_that_is_not_a_spend_is_not_found(funded, target):
    member, earned, _spent = funded
    entry = earned if target == "earn" else dataclasses.replace(earned, entry_id=10**9)
    with refused(EntryNotFoundError):
        refund(member, entry, "r")


def test_reversing_a_spend_or_another_members_earn_is_not_found(funded, other_member):
    member, earned, spent = funded
    with refused(EntryNotFoundError):
        reverse(member, spent, "r1")
    with refused(EntryNotFoundError):
        reverse(other_member, earned, "r2")


def test_reversing_more_than_was_earned_is_refused(funded):
    member, earned, _spent = funded
    with refused(NothingToRefundError, "left to give back: 100 points"):
        reverse(member, earned, "r", amount=101)
