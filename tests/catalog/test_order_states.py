"""The one table of order states: what each action allows, and the sets derived from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from catalog import order_states
from catalog.enums import OrderStatus
from catalog.exceptions import InvalidTransitionError
from catalog.order_states import Action, Actor

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_derived_sets_are_the_ones_every_layer_used_before():
    assert {OrderStatus.CANCELLED, OrderStatus.REJECTED} == order_states.CLOSED
    assert set(OrderStatus.values) - {OrderStatus.CANCELLED, OrderStatus.REJECTED} == order_states.LIVE
    assert {OrderStatus.AWAITING_PAYMENT, OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED} == order_states.CANCELLABLE
    assert {OrderStatus.SHIPPED, OrderStatus.DELIVERED} == order_states.RECEIVABLE
    assert {OrderStatus.DELIVERED, OrderStatus.COMPLETED} == order_states.REVIEWABLE
    assert {OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REJECTED} == order_states.TERMINAL
    assert order_states.ORDER_TABS["refund"] == (OrderStatus.CANCELLED, OrderStatus.REJECTED)
    assert order_states.ORDER_TABS["to_receive"] == (OrderStatus.DELIVERED, OrderStatus.SHIPPED)
    assert order_states.ORDER_TABS["to_review"] == (OrderStatus.COMPLETED,)


def test_a_transition_names_its_target_and_refuses_other_statuses_and_other_people():
    assert order_states.transition_target(Action.SHIP, OrderStatus.APPROVED, by=Actor.OPERATOR) == OrderStatus.SHIPPED
    with pytest.raises(InvalidTransitionError, match="can't be shipped in its current state \\(Under review\\)"):
        order_states.transition_target(Action.SHIP, OrderStatus.PENDING_REVIEW, by=Actor.OPERATOR)
    with pytest.raises(InvalidTransitionError):
        order_states.transition_target(Action.SHIP, OrderStatus.APPROVED, by=Actor.MEMBER)
    assert not order_states.allows(Action.CANCEL_UNPAID, OrderStatus.AWAITING_PAYMENT, by=Actor.MEMBER)


@pytest.mark.parametrize(
    ("requires_review", "physical", "target"),
    [
        (True, True, OrderStatus.PENDING_REVIEW),
        (True, False, OrderStatus.PENDING_REVIEW),
        (False, True, OrderStatus.APPROVED),
        (False, False, OrderStatus.COMPLETED),
    ],
)
def test_a_paid_order_goes_where_it_would_have_started_without_cash(requires_review, physical, target):
    paid = order_states.transition_target(
        Action.PAY,
        OrderStatus.AWAITING_PAYMENT,
        by=Actor.PAYMENT_PROVIDER,
        requires_review=requires_review,
        physical=physical,
    )
    assert paid == target
    assert (
        order_states.opening_status(awaiting_cash=False, requires_review=requires_review, physical=physical) == target
    )


def test_payment_is_overdue_from_pay_by_on_and_only_while_awaiting_payment():
    due = NOW - timedelta(seconds=1)
    assert order_states.payment_overdue(NOW, NOW)
    assert not order_states.payment_overdue(NOW + timedelta(seconds=1), NOW)
    assert not order_states.payment_overdue(None, NOW)
    assert order_states.payment_overdue(SimpleNamespace(status=OrderStatus.AWAITING_PAYMENT, pay_by=due), NOW)
    assert not order_states.payment_overdue(SimpleNamespace(status=OrderStatus.CANCELLED, pay_by=due), NOW)


def test_a_completed_order_is_terminal_unless_it_is_an_unused_privilege():
    unused = (order_states.Condition.UNUSED_PRIVILEGE,)
    assert OrderStatus.COMPLETED in order_states.TERMINAL
    assert {OrderStatus.CANCELLED, OrderStatus.REJECTED} == order_states.CLOSED
    assert not order_states.allows(Action.CANCEL_UNUSED, OrderStatus.COMPLETED, by=Actor.MEMBER)
    assert order_states.allows(Action.CANCEL_UNUSED, OrderStatus.COMPLETED, by=Actor.MEMBER, conditions=unused)
    assert order_states.allows(Action.CANCEL_UNUSED, OrderStatus.COMPLETED, by=Actor.OPERATOR, conditions=unused)
    assert not order_states.allows(Action.CANCEL_UNUSED, OrderStatus.COMPLETED, by=Actor.SYSTEM, conditions=unused)
    assert not order_states.allows(Action.CANCEL_UNUSED, OrderStatus.DELIVERED, by=Actor.MEMBER, conditions=unused)
    assert order_states.available_actions(OrderStatus.COMPLETED, by=Actor.MEMBER) == [Action.REVIEW]
    assert order_states.available_actions(OrderStatus.COMPLETED, by=Actor.MEMBER, conditions=unused) == [
        Action.REVIEW,
        Action.CANCEL_UNUSED,
    ]
    with pytest.raises(InvalidTransitionError, match="can't be cancelled in its current state \\(Completed\\)"):
        order_states.transition_target(Action.CANCEL_UNUSED, OrderStatus.COMPLETED, by=Actor.MEMBER)
    target = order_states.transition_target(
        Action.CANCEL_UNUSED, OrderStatus.COMPLETED, by=Actor.MEMBER, conditions=unused
    )
    assert target == OrderStatus.CANCELLED


def test_the_available_actions_of_a_status_for_an_operator():
    assert order_states.available_actions(OrderStatus.APPROVED, by=Actor.OPERATOR) == [
        Action.REJECT,
        Action.SHIP,
        Action.CANCEL,
    ]
