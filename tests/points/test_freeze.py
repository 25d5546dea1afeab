"""Frozen points accounts at the ledger (docs/decisions/0055): no earn, award, purchase, spend,
hold or capture; refunds, reversals, adjustments, expiry go on; every change recorded."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from points import selectors
from points import services as points_services
from points.enums import EarningSource, FreezeAction
from points.exceptions import (
    AccountAlreadyFrozenError,
    AccountFrozenError,
    AccountNotFrozenError,
    FreezeReasonRequiredError,
    SelfFreezeError,
)
from points.models import Account, AccountFreeze, Entry, Hold, Lot
from tests.factories import StaffFactory

FROZEN = "Your points account is frozen: you cannot earn or spend points for now. Please contact support."


@pytest.fixture
def operator(db):
    return StaffFactory()


@pytest.fixture
def funded(member):
    points_services.points_earn(user_id=member.pk, amount=500, idempotency_key="fund")
    return member


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


def written():
    return (
        list(Entry.objects.order_by("pk").values_list("pk", "kind", "amount")),
        list(Lot.objects.order_by("pk").values_list("pk", "remaining")),
        list(Hold.objects.order_by("pk").values_list("pk", "status")),
        list(Account.objects.order_by("pk").values_list("balance", "held", "pending")),
    )


def freeze(member, operator, reason="Scripted check-ins"):
    return points_services.points_account_freeze(user_id=member.pk, actor_id=operator.pk, reason=reason)


def test_freezing_records_who_when_why_and_sets_the_state(funded, operator):
    freeze_id = freeze(funded, operator, "  Scripted   check-ins ")
    row = AccountFreeze.objects.get(pk=freeze_id)
    assert (row.account.user_id, row.action, row.reason, row.actor_id) == (
        funded.pk,
        FreezeAction.FREEZE,
        "Scripted check-ins",
        operator.pk,
    )
    assert selectors.account_frozen_since(user_id=funded.pk) == row.created_at
    assert selectors.frozen_user_ids(user_ids=[funded.pk]) == {funded.pk}

    points_services.points_account_unfreeze(user_id=funded.pk, actor_id=operator.pk, reason="Reviewed: a real member")
    assert selectors.account_frozen_since(user_id=funded.pk) is None
    assert list(AccountFreeze.objects.order_by("pk").values_list("action", flat=True)) == ["freeze", "unfreeze"]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_freeze_without_a_reason_is_refused_and_writes_nothing(funded, operator, reason):
    with pytest.raises(FreezeReasonRequiredError, match="A reason is required"):
        freeze(funded, operator, reason)
    assert AccountFreeze.objects.count() == 0
    assert selectors.account_frozen_since(user_id=funded.pk) is None


def test_nobody_freezes_or_unfreezes_their_own_account(funded):
    with pytest.raises(SelfFreezeError):
        points_services.points_account_freeze(user_id=funded.pk, actor_id=funded.pk, reason="me")
    assert AccountFreeze.objects.count() == 0


def test_freezing_twice_and_unfreezing_an_open_account_are_refused(funded, operator):
    with pytest.raises(AccountNotFrozenError):
        points_services.points_account_unfreeze(user_id=funded.pk, actor_id=operator.pk, reason="r")
    freeze(funded, operator)
    since = selectors.account_frozen_since(user_id=funded.pk)
    with pytest.raises(AccountAlreadyFrozenError):
        freeze(funded, operator, "again")
    assert AccountFreeze.objects.count() == 1
    assert selectors.account_frozen_since(user_id=funded.pk) == since


def _earn(m):
    points_services.points_earn(user_id=m.pk, amount=10, idempotency_key="e2")


def _award(m):
    points_services.points_award(user_id=m.pk, source=EarningSource.CHECKIN, idempotency_key="a1", base_points=5)


def _purchase(m):
    points_services.purchase_record(user_id=m.pk, external_id="SO-1", amount=Decimal("100.00"))


def _spend(m):
    points_services.points_spend(user_id=m.pk, amount=10, idempotency_key="s1")


def _hold(m):
    points_services.points_hold_place(
        user_id=m.pk, amount=10, key="h1", expires_at=timezone.now() + timedelta(minutes=30)
    )


@pytest.mark.parametrize("operation", [_earn, _award, _purchase, _spend, _hold])
def test_a_frozen_account_neither_earns_nor_spends_and_nothing_is_written(funded, operator, operation):
    freeze(funded, operator)
    before = written()
    with pytest.raises(AccountFrozenError) as refusal:
        operation(funded)
    assert (str(refusal.value), refusal.value.code, refusal.value.http_status) == (FROZEN, "account_frozen", 403)
    assert written() == before

    points_services.points_account_unfreeze(user_id=funded.pk, actor_id=operator.pk, reason="ok")
    operation(funded)
    assert written() != before


def test_a_hold_placed_before_the_freeze_is_not_captured_but_can_be_released(funded, operator):
    receipt = points_services.points_hold_place(
        user_id=funded.pk, amount=100, key="h1", expires_at=timezone.now() + timedelta(minutes=30)
    )
    freeze(funded, operator)
    before = written()
    with pytest.raises(AccountFrozenError):
        points_services.points_hold_capture(hold_id=receipt.hold_id)
    assert written() == before
    points_services.points_hold_release(hold_id=receipt.hold_id)
    assert Hold.objects.get().status == "released"


def test_a_retry_of_a_spend_made_before_the_freeze_answers_what_was_done(funded, operator):
    first = points_services.points_spend(user_id=funded.pk, amount=10, idempotency_key="s1")
    freeze(funded, operator)
    again = points_services.points_spend(user_id=funded.pk, amount=10, idempotency_key="s1")
    assert (again.entry_id, again.replayed) == (first.entry_id, True)


def test_refunds_reversals_adjustments_and_expiry_still_work_on_a_frozen_account(funded, operator):
    spend = points_services.points_spend(user_id=funded.pk, amount=100, idempotency_key="s1")
    purchase = points_services.purchase_record(user_id=funded.pk, external_id="SO-1", amount=Decimal("50.00"))
    freeze(funded, operator)

    points_services.points_refund(user_id=funded.pk, spend_entry_id=spend.entry_id, idempotency_key="r1")
    points_services.purchase_refund(external_id=purchase.external_id, amount=Decimal("50.00"), idempotency_key="pr1")
    points_services.points_adjust(
        user_id=funded.pk, amount=-20, reason="correction", actor_id=operator.pk, idempotency_key="adj1"
    )
    with time_machine.travel(timezone.now() + timedelta(days=3650), tick=False):
        points_services.points_expire()

    kinds = list(Entry.objects.filter(account__user=funded).values_list("kind", flat=True))
    assert {"refund", "adjust", "expire"} <= set(kinds)
    assert Account.objects.get(user=funded).balance == 0
