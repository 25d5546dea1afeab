"""``Order.updated_at`` says when an order last changed, whichever service wrote it.

The services write orders with guarded ``UPDATE`` statements, which skip ``auto_now``;
``Order.objects`` stamps ``updated_at`` on every queryset update.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from catalog import services
from catalog.models import CashRefund, Order
from tests.catalog.conftest import PIN

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def redeem(buyer, make_product, make_address):
    def make(**product_fields) -> Order:
        product = make_product(**product_fields)
        return services.order_redeem(
            user_id=buyer.pk,
            product_id=product.pk,
            quantity=1,
            idempotency_key=f"stamp-{product.pk}",
            pin=PIN,
            address_id=make_address(buyer),
        )

    return make


def stamp(order: Order) -> datetime:
    order.refresh_from_db()
    return order.updated_at


def test_every_status_change_moves_updated_at(redeem, buyer, operator, clock):
    order = redeem(requires_review=True)
    assert stamp(order) == T0
    steps = [
        lambda: services.order_approve(order_id=order.pk, actor_id=operator.pk),
        lambda: services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF", tracking_number="SF123456"),
        lambda: services.order_deliver(order_id=order.pk, actor_id=operator.pk),
        lambda: services.order_confirm_receipt(order_id=order.pk, member_id=buyer.pk),
    ]
    for minutes, step in enumerate(steps, start=1):
        clock.move_to(T0 + timedelta(minutes=minutes))
        step()
        assert stamp(order) == T0 + timedelta(minutes=minutes)


def test_cancel_reject_pay_and_the_timeout_move_updated_at(redeem, buyer, operator, clock, settings):
    settings.CATALOG_PAYMENT_BACKEND = "offline"
    cancelled, rejected = redeem(), redeem(requires_review=True)
    cash = redeem(cash_price=Decimal("9.90"))
    unpaid = redeem(cash_price=Decimal("9.90"))

    clock.move_to(T0 + timedelta(minutes=1))
    services.order_cancel(order_id=cancelled.pk, member_id=buyer.pk, actor_id=buyer.pk)
    services.order_reject(order_id=rejected.pk, actor_id=operator.pk, reason="out of area")
    services.payment_begin(order_id=cash.pk, member_id=buyer.pk)
    assert [stamp(o) for o in (cancelled, rejected, cash)] == [T0 + timedelta(minutes=1)] * 3

    clock.move_to(T0 + timedelta(minutes=2))
    services.order_mark_paid(order_id=cash.pk, payment_reference=cash.payment_reference, actor_id=operator.pk)
    assert stamp(cash) == T0 + timedelta(minutes=2)

    clock.move_to(T0 + timedelta(minutes=20))
    assert services.orders_cancel_unpaid() == 1
    assert stamp(unpaid) == T0 + timedelta(minutes=20)


def test_a_refund_row_stamps_its_changes_too(redeem, buyer, operator, clock, settings):
    settings.CATALOG_PAYMENT_BACKEND = "offline"
    order = redeem(cash_price=Decimal("9.90"))
    services.payment_begin(order_id=order.pk, member_id=buyer.pk)
    order.refresh_from_db()
    services.order_mark_paid(order_id=order.pk, payment_reference=order.payment_reference, actor_id=operator.pk)
    services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    refund = CashRefund.objects.get()
    assert refund.updated_at == T0
    clock.move_to(T0 + timedelta(hours=1))
    services.cash_refund_record(refund_id=refund.pk, actor_id=operator.pk, reference="BANK-9")
    refund.refresh_from_db()
    assert (refund.updated_at, refund.refunded_at) == (T0 + timedelta(hours=1), T0 + timedelta(hours=1))


def test_an_explicit_updated_at_is_kept(redeem):
    order = redeem()
    Order.objects.filter(pk=order.pk).update(updated_at=T0 - timedelta(days=1))
    assert stamp(order) == T0 - timedelta(days=1)
