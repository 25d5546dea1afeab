"""Checkout holds (积分抵扣): place, capture, release, expire, and the mall spending around them.

Every refusal asserts that nothing was written (ledger tables and holds); after every test the
ledger passes ``points_verify`` (which checks ``held`` against the active holds).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from points import selectors, services
from points.enums import EntryKind, HoldStatus
from points.exceptions import (
    HoldNotActiveError,
    HoldNotFoundError,
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidAmountError,
    InvalidHoldExpiryError,
)
from points.models import Account, Entry, Hold
from points.selectors.entries import entry_description
from tests.factories import MemberFactory
from tests.points.helpers import T0, earn, ledger_snapshot, lot_of, remaining, spend

pytestmark = pytest.mark.usefixtures("clock", "ledger_stays_consistent")

LATER = T0 + timedelta(minutes=15)


def held(user) -> int:
    return Account.objects.get(user=user).held


def holds_snapshot() -> list[dict]:
    return list(Hold.objects.order_by("pk").values())


@contextmanager
def nothing_written(error: type[Exception], match: str | None = None):
    """The call inside raises ``error`` and leaves the ledger and every hold exactly as they were."""
    before = (ledger_snapshot(), holds_snapshot())
    with pytest.raises(error, match=match) as info:
        yield info
    assert (ledger_snapshot(), holds_snapshot()) == before


def place(user, amount, key="host:1:A1", **kwargs):
    kwargs.setdefault("expires_at", LATER)
    kwargs.setdefault("reference", "host.order:A1")
    return services.points_hold_place(user_id=user.pk, amount=amount, key=key, **kwargs)


# --- Placing ---------------------------------------------------------------------------------


def test_a_hold_reserves_points_without_touching_the_balance_or_the_lots(member):
    earning = earn(member, 100, "e1")

    receipt = place(member, 60)

    hold = Hold.objects.get()
    assert receipt == services.HoldReceipt(
        hold_id=hold.pk,
        key="host:1:A1",
        amount=60,
        status=HoldStatus.ACTIVE,
        expires_at=LATER,
        created_at=T0,
        entry_id=None,
        replayed=False,
        user_id=member.pk,
        reference="host.order:A1",
        settled_at=None,
    )
    account = Account.objects.get(user=member)
    assert (account.balance, account.held) == (100, 60)
    assert remaining(earning) == [100]
    assert Entry.objects.count() == 1
    assert selectors.spendable_balance(user_id=member.pk) == 40


def test_placing_again_with_the_same_key_replays_the_hold(member):
    earn(member, 100, "e1")
    first = place(member, 60)

    again = place(member, 60, expires_at=LATER + timedelta(hours=1))

    assert again == services.HoldReceipt(**{**first.__dict__, "replayed": True})
    assert (Hold.objects.count(), held(member)) == (1, 60)


def test_the_same_key_for_another_amount_or_member_is_a_conflict(member, other_member):
    earn(member, 100, "e1")
    earn(other_member, 100, "e2")
    place(member, 60)

    with nothing_written(IdempotencyConflictError):
        place(member, 61)
    with nothing_written(IdempotencyConflictError):
        place(other_member, 60)


def test_a_hold_larger_than_the_available_points_is_refused(member):
    earn(member, 100, "e1")
    place(member, 70)

    with nothing_written(InsufficientPointsError, match=r"^Not enough points: you have 30, this needs 31\.$"):
        place(member, 31, key="host:1:A2")

    assert place(member, 30, key="host:1:A2").amount == 30
    assert held(member) == 100


@pytest.mark.parametrize("amount", [0, -5, True, 2.5])
def test_a_hold_of_no_points_is_refused(member, amount):
    earn(member, 100, "e1")
    with nothing_written(InvalidAmountError):
        place(member, amount)


def test_a_hold_that_ends_now_or_earlier_is_refused(member):
    earn(member, 100, "e1")
    with nothing_written(InvalidHoldExpiryError):
        place(member, 10, expires_at=T0)


# --- The mall's spends respect holds ---------------------------------------------------------


def test_a_mall_spend_cannot_use_held_points(member):
    earn(member, 100, "e1")
    place(member, 70)

    with nothing_written(InsufficientPointsError, match=r"^Not enough points: you have 30, this needs 40\.$"):
        spend(member, 40, "s1")

    assert spend(member, 30, "s2").balance == 70
    assert (held(member), selectors.spendable_balance(user_id=member.pk)) == (70, 0)
    with nothing_written(InsufficientPointsError, match=r"^Not enough points: you have 0, this needs 1\.$"):
        spend(member, 1, "s3")


def test_released_points_are_spendable_again(member):
    earn(member, 100, "e1")
    hold = place(member, 70)
    services.points_hold_release(hold_id=hold.hold_id)

    assert spend(member, 100, "s1").balance == 0


# --- Capture ---------------------------------------------------------------------------------


def test_capture_spends_the_held_points_fifo_by_expiry_with_the_shop_text(member):
    soon = earn(member, 50, "soon", expires_at=T0 + timedelta(days=3))
    later = earn(member, 100, "later")
    hold = place(member, 80)

    receipt = services.points_hold_capture(
        hold_id=hold.hold_id, memo_code="points.checkout_paid", memo_params={"order": "A1"}
    )

    entry = Entry.objects.get(kind=EntryKind.SPEND)
    assert (receipt.status, receipt.entry_id, receipt.settled_at, receipt.replayed) == (
        HoldStatus.CAPTURED,
        entry.pk,
        T0,
        False,
    )
    assert (entry.amount, entry.balance_after, entry.reference, entry.created_at) == (-80, 70, "host.order:A1", T0)
    assert entry_description(entry) == "Paid with points at the shop, order A1"
    assert remaining(soon, later) == [0, 70]
    account = Account.objects.get(user=member)
    assert (account.balance, account.held, account.lifetime_spent) == (70, 0, 80)
    assert Hold.objects.get().spend_entry_id == entry.pk
    assert lot_of(soon).remaining == 0


def test_capturing_again_replays_the_same_receipt(member):
    earn(member, 100, "e1")
    hold = place(member, 80)
    first = services.points_hold_capture(hold_id=hold.hold_id)

    again = services.points_hold_capture(hold_id=hold.hold_id)

    assert again == services.HoldReceipt(**{**first.__dict__, "replayed": True})
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == 1
    assert Account.objects.get(user=member).balance == 20


def test_a_released_hold_cannot_be_captured(member):
    earn(member, 100, "e1")
    hold = place(member, 80)
    services.points_hold_release(hold_id=hold.hold_id)

    with nothing_written(HoldNotActiveError, match=r"^This hold of points is released: it can no longer"):
        services.points_hold_capture(hold_id=hold.hold_id)


def test_capture_after_the_hold_ran_out_ends_it_as_expired_and_is_refused(member, clock):
    earn(member, 100, "e1")
    hold = place(member, 80)
    clock.move_to(LATER)

    with pytest.raises(HoldNotActiveError, match=r"^This hold of points is expired"):
        services.points_hold_capture(hold_id=hold.hold_id)

    stored = Hold.objects.get()
    assert (stored.status, stored.settled_at, stored.spend_entry_id) == (HoldStatus.EXPIRED, LATER, None)
    assert (Account.objects.get(user=member).balance, held(member)) == (100, 0)
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == 0


def test_capture_when_the_points_expired_meanwhile_releases_the_hold(member, clock):
    earn(member, 100, "e1", expires_at=T0 + timedelta(minutes=10))
    hold = place(member, 80)
    clock.move_to(T0 + timedelta(minutes=12))

    with pytest.raises(InsufficientPointsError, match=r"^Not enough points: you have 0, this needs 80\.$"):
        services.points_hold_capture(hold_id=hold.hold_id)

    stored = Hold.objects.get()
    assert (stored.status, stored.spend_entry_id) == (HoldStatus.RELEASED, None)
    account = Account.objects.get(user=member)
    assert (account.balance, account.held, account.lifetime_expired) == (0, 0, 100)
    assert list(Entry.objects.order_by("pk").values_list("kind", "amount")) == [("earn", 100), ("expire", -100)]


def test_capture_counts_only_the_members_other_holds(member):
    earn(member, 100, "e1")
    first = place(member, 40, key="host:1:A1")
    place(member, 60, key="host:1:A2")

    services.points_hold_capture(hold_id=first.hold_id)

    account = Account.objects.get(user=member)
    assert (account.balance, account.held) == (60, 60)
    assert selectors.spendable_balance(user_id=member.pk) == 0


def test_an_unknown_hold_is_not_found(member):
    with nothing_written(HoldNotFoundError):
        services.points_hold_capture(hold_id=999)
    with nothing_written(HoldNotFoundError):
        services.points_hold_release(hold_id=999)


# --- Release ---------------------------------------------------------------------------------


def test_release_gives_the_points_back_and_is_idempotent(member, clock):
    earn(member, 100, "e1")
    hold = place(member, 80)
    clock.shift(timedelta(minutes=2))

    first = services.points_hold_release(hold_id=hold.hold_id)
    again = services.points_hold_release(hold_id=hold.hold_id)

    assert (first.status, first.settled_at, first.replayed) == (HoldStatus.RELEASED, T0 + timedelta(minutes=2), False)
    assert again == services.HoldReceipt(**{**first.__dict__, "replayed": True})
    assert (Account.objects.get(user=member).balance, held(member)) == (100, 0)
    assert Entry.objects.count() == 1


def test_a_captured_hold_cannot_be_released(member):
    earn(member, 100, "e1")
    hold = place(member, 80)
    services.points_hold_capture(hold_id=hold.hold_id)

    with nothing_written(HoldNotActiveError, match=r"^This hold of points is captured"):
        services.points_hold_release(hold_id=hold.hold_id)


# --- The expiry job --------------------------------------------------------------------------


def test_the_expiry_job_ends_every_hold_past_its_time_once(member, other_member, clock):
    earn(member, 100, "e1")
    earn(other_member, 100, "e2")
    place(member, 10, key="k1", expires_at=T0 + timedelta(minutes=5))
    place(member, 20, key="k2", expires_at=T0 + timedelta(minutes=30))
    place(other_member, 30, key="k3", expires_at=T0 + timedelta(minutes=5))
    clock.move_to(T0 + timedelta(minutes=10))

    assert services.points_holds_expire(batch_size=1) == 2
    assert services.points_holds_expire() == 0

    assert dict(Hold.objects.values_list("key", "status")) == {
        "k1": HoldStatus.EXPIRED,
        "k2": HoldStatus.ACTIVE,
        "k3": HoldStatus.EXPIRED,
    }
    assert set(Hold.objects.filter(status=HoldStatus.EXPIRED).values_list("settled_at", flat=True)) == {
        T0 + timedelta(minutes=10)
    }
    assert (held(member), held(other_member)) == (20, 0)


def test_the_expiry_command_reports_what_it_ended(member, clock):
    earn(member, 100, "e1")
    place(member, 10, expires_at=T0 + timedelta(minutes=5))
    clock.move_to(T0 + timedelta(minutes=10))
    out = StringIO()

    call_command("points_holds_expire", stdout=out)

    assert out.getvalue() == "Ended 1 expired holds.\n"
    assert held(member) == 0


def test_the_expiry_command_dry_run_counts_and_ends_nothing(member, clock):
    earn(member, 100, "e1")
    place(member, 10, expires_at=T0 + timedelta(minutes=5))
    clock.move_to(T0 + timedelta(minutes=10))
    out = StringIO()

    call_command("points_holds_expire", "--dry-run", stdout=out)

    assert out.getvalue() == "[dry run] Would end 1 expired holds, giving back 10 points.\n"
    assert held(member) == 10
    assert Hold.objects.get().status == HoldStatus.ACTIVE


def test_the_expiry_task_runs_in_process(member, clock, settings):
    from points import jobs

    settings.CELERY_TASK_ALWAYS_EAGER = True
    earn(member, 100, "e1")
    place(member, 10, expires_at=T0 + timedelta(minutes=5))
    clock.move_to(T0 + timedelta(minutes=10))

    assert jobs.points_holds_expire.apply().get() == 1
    assert settings.CELERY_BEAT_SCHEDULE["points-holds-expire"]["task"] == jobs.points_holds_expire.name


# --- Verify, selectors and the member's page --------------------------------------------------


def test_verify_finds_held_points_that_no_active_hold_explains(member):
    earn(member, 100, "e1")
    place(member, 10)
    account = Account.objects.get(user=member)
    Account.objects.filter(pk=account.pk).update(held=15)

    report = services.points_verify()

    assert [(v.check, v.row_id, v.detail) for v in report.violations] == [
        ("held_equals_active_holds", account.pk, "held=15 active holds=10")
    ]
    Account.objects.filter(pk=account.pk).update(held=10)


def test_verify_accepts_held_points_above_a_balance_that_expired_meanwhile(member, clock):
    earn(member, 100, "e1", expires_at=T0 + timedelta(minutes=10))
    place(member, 80)
    clock.move_to(T0 + timedelta(minutes=12))
    services.points_expire()

    account = Account.objects.get(user=member)
    assert (account.balance, account.held) == (0, 80)
    assert services.points_verify().ok
    assert selectors.spendable_balance(user_id=member.pk) == 0


def test_balance_summary_counts_held_pending_owed_expiring_and_the_tier(member):
    earn(member, 100, "e1")
    earn(member, 30, "soon", expires_at=T0 + timedelta(days=5))
    earn(member, 10, "pending", available_at=T0 + timedelta(days=7))
    place(member, 20)

    summary = selectors.balance_summary(user_id=member.pk)

    assert (summary.available, summary.pending, summary.held, summary.owed) == (110, 10, 20, 0)
    assert (summary.expiring_soon_points, summary.expiring_by, summary.within_days) == (30, date(2025, 1, 15), 30)
    assert (summary.tier_code, summary.tier_name) == ("regular", "Regular")


def test_balance_summary_of_a_member_without_an_account_is_none(db):
    assert selectors.balance_summary(user_id=0) is None


def test_the_points_page_says_how_many_points_are_held(client, member):
    earn(member, 100, "e1")
    place(member, 100)
    client.force_login(member)

    page = client.get(reverse("my_points")).content.decode()

    assert 'data-testid="available-points">0<' in page
    assert "100 points held for a checkout at the shop" in page


def test_the_points_page_says_nothing_of_holds_without_one(client, member):
    earn(member, 100, "e1")
    client.force_login(member)
    page = client.get(reverse("my_points")).content.decode()
    assert 'data-testid="held-points"' not in page


def test_a_new_member_can_hold_points_of_a_fresh_account(db):
    member = MemberFactory()
    earn(member, 5, "e1")
    assert place(member, 5).amount == 5


# --- A hold past its time, before the sweep (one truth: it is expired) -----------------------


def test_a_hold_past_its_time_reads_expired_and_not_held_before_the_sweep(member, clock):
    earn(member, 100, "e1")
    hold = place(member, 80)
    clock.move_to(LATER)
    before = (ledger_snapshot(), holds_snapshot())

    view = selectors.hold_get(hold_id=hold.hold_id)
    summary = selectors.balance_summary(user_id=member.pk)

    assert (view.status, view.settled_at) == (HoldStatus.EXPIRED, None)
    assert (summary.available, summary.held) == (100, 0)
    assert selectors.spendable_balance(user_id=member.pk) == 100
    assert selectors.header_status(user_id=member.pk)[0] == 100
    # Reads compute it; they write nothing.
    assert (ledger_snapshot(), holds_snapshot()) == before


def test_a_hold_one_second_before_its_time_is_still_active_and_held(member, clock):
    earn(member, 100, "e1")
    hold = place(member, 80)
    clock.move_to(LATER - timedelta(seconds=1))

    assert selectors.hold_get(hold_id=hold.hold_id).status == HoldStatus.ACTIVE
    assert (selectors.balance_summary(user_id=member.pk).held, selectors.spendable_balance(user_id=member.pk)) == (
        80,
        20,
    )


def test_a_mall_spend_after_a_hold_ran_out_ends_the_hold_and_spends_its_points(member, clock):
    earn(member, 100, "e1")
    hold = place(member, 80)
    clock.move_to(LATER)

    spend(member, 100, "s1")

    stored = Hold.objects.get(pk=hold.hold_id)
    assert (stored.status, stored.settled_at) == (HoldStatus.EXPIRED, LATER)
    account = Account.objects.get(user=member)
    assert (account.balance, account.held) == (0, 0)


def test_placing_after_a_hold_ran_out_counts_its_points_as_free(member, clock):
    earn(member, 100, "e1")
    first = place(member, 80, key="host:1:A1")
    clock.move_to(LATER)

    second = place(member, 90, key="host:1:A2", expires_at=LATER + timedelta(minutes=15))

    assert second.status == HoldStatus.ACTIVE
    assert Hold.objects.get(pk=first.hold_id).status == HoldStatus.EXPIRED
    assert held(member) == 90


def test_placing_again_after_the_hold_ran_out_replays_it_as_expired(member, clock):
    earn(member, 100, "e1")
    first = place(member, 80)
    clock.move_to(LATER)

    again = place(member, 80, expires_at=LATER + timedelta(minutes=15))

    assert (again.hold_id, again.status, again.replayed) == (first.hold_id, HoldStatus.EXPIRED, True)
    assert held(member) == 0


def test_releasing_a_hold_past_its_time_answers_expired_not_released(member, clock):
    earn(member, 100, "e1")
    hold = place(member, 80)
    clock.move_to(LATER)

    receipt = services.points_hold_release(hold_id=hold.hold_id)

    assert (receipt.status, receipt.settled_at, receipt.replayed) == (HoldStatus.EXPIRED, LATER, True)
    assert (Hold.objects.get().status, held(member)) == (HoldStatus.EXPIRED, 0)


def test_the_sweep_after_a_writer_ended_the_hold_finds_nothing(member, clock):
    earn(member, 100, "e1")
    place(member, 80)
    clock.move_to(LATER)
    spend(member, 10, "s1")

    assert services.points_holds_expire() == 0
    assert held(member) == 0
