"""Redeem-and-cancel loops: flagged with the orders as evidence; an invited farmer's pending referral
reward is held; nothing else is blocked (docs/decisions/0056). Real orders through the catalog services."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts import selectors, services
from accounts.enums import HoldReason, ReferralStatus, RiskReason
from accounts.models import Referral, RiskFlag
from catalog import services as catalog_services
from catalog.rules import order_reference
from points import selectors as points_selectors
from points import services as points_services
from tests.catalog.factories import give_points, make_member, make_product, redeem
from tests.factories import MemberFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _loop_rule(settings):
    settings.REDEEM_CANCEL_LOOP_COUNT, settings.REDEEM_CANCEL_LOOP_DAYS = 3, 7


def redeem_and_cancel(member, product) -> int:
    order = redeem(member, product)
    catalog_services.order_cancel(order_id=order.pk, member_id=member.pk, actor_id=member.pk)
    return order.pk


def test_three_redeem_and_cancel_rounds_in_a_week_flag_the_member_with_the_orders(db, clock):
    member, product = make_member(points=5000), make_product(points_price=500)
    orders = []
    for day in range(3):
        clock.move_to(T0 + timedelta(days=day * 2))
        orders.append(redeem_and_cancel(member, product))
        assert RiskFlag.objects.filter(user=member).exists() == (day == 2)
    flag = RiskFlag.objects.get(user=member)
    assert flag.reason == RiskReason.REDEEM_CANCEL_LOOP
    assert flag.evidence == {
        "orders": [order_reference(pk) for pk in reversed(orders)],
        "cancelled": 3,
        "days": 7,
        "limit": 3,
    }
    # Flag only: the member still redeems (freezing is an operator's decision).
    assert redeem(member, product).pk
    assert points_services.points_verify().ok


def test_a_fourth_round_keeps_the_one_open_flag(db, clock):
    member, product = make_member(points=5000), make_product(points_price=500)
    for _ in range(4):
        redeem_and_cancel(member, product)
    assert RiskFlag.objects.filter(user=member).count() == 1


def test_cancels_spread_over_more_than_the_window_are_not_a_loop(db, clock):
    member, product = make_member(points=5000), make_product(points_price=500)
    for round_ in range(4):
        clock.move_to(T0 + timedelta(days=round_ * 4))
        redeem_and_cancel(member, product)
    assert not RiskFlag.objects.exists()


def test_a_redemption_kept_is_not_counted(db, clock):
    member, product = make_member(points=5000), make_product(points_price=500)
    redeem_and_cancel(member, product)
    redeem_and_cancel(member, product)
    redeem(member, product)
    assert not RiskFlag.objects.exists()


def test_an_invited_farmer_holds_the_inviters_pending_reward(db, clock):
    inviter = MemberFactory()
    farmer = make_member(points=0)
    services.referral_bind(
        invitee_id=farmer.pk, code=selectors.invite_code_of(user_id=inviter.pk), signup_ip="198.51.100.3"
    )
    services.referral_confirm(invitee_id=farmer.pk, email=farmer.email)
    assert points_selectors.balance_summary(user_id=inviter.pk).pending == 50
    give_points(farmer, 5000)
    product = make_product(points_price=500)
    for _ in range(3):
        redeem_and_cancel(farmer, product)
    referral = Referral.objects.get(invitee=farmer)
    assert (referral.status, referral.held_reason) == (ReferralStatus.HELD, HoldReason.REDEEM_CANCEL)
    assert referral.hold_evidence["cancelled"] == 3
    summary = points_selectors.balance_summary(user_id=inviter.pk)
    assert (summary.available, summary.pending) == (0, 0)
    assert points_services.points_verify().ok


def test_the_loop_rule_can_be_switched_off(db, clock, settings):
    settings.REDEEM_CANCEL_LOOP_COUNT = 0
    member, product = make_member(points=5000), make_product(points_price=500)
    for _ in range(4):
        redeem_and_cancel(member, product)
    assert not RiskFlag.objects.exists()
