"""What every ledger service refuses: amounts that are not whole numbers, unknown members and entries.

One behaviour per test, with exact balances, entries, lots and movements (tests/points/helpers.py).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from django.db.models import Max

from accounts.models import User
from points import services
from points.exceptions import (
    AccountNotFoundError,
    EntryNotFoundError,
    InsufficientPointsError,
    InvalidAmountError,
    NothingToRefundError,
)
from tests.points.helpers import earn, refund, refused, reverse, spend

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


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
