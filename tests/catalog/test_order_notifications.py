"""The member hears about every step of their order in the inbox (issue #12, "Events").

Each event of an order puts one transactional "order" message in its member's inbox, linking to
the order page, rendered in the reader's language; running a step twice (or a refused step)
sends nothing more. Orders are made through the real services.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from accounts.enums import NotificationKind
from accounts.models import Notification
from catalog import services
from catalog.enums import OrderStatus, ProductKind
from catalog.exceptions import (
    InvalidTransitionError,
    OutOfStockError,
    ReasonRequiredError,
    RefundAlreadyRecordedError,
    SoldOutError,
)
from catalog.models import CashRefund
from catalog.payments import Notification as Payment
from catalog.payments import RefundNotification
from catalog.services import order_messages
from points import services as points_services
from tests.catalog.factories import add_codes, make_member, make_product, redeem
from tests.factories import StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def operator(db):
    return StaffFactory()


def funded_member(points: int = 5000):
    """A member with ``points`` from an operator's adjustment (which earns no tier, so prices stay whole)."""
    member = make_member()
    points_services.points_adjust(
        user_id=member.pk, amount=points, reason="test", actor_id=StaffFactory().pk, idempotency_key=f"fund:{member.pk}"
    )
    return member


@pytest.fixture
def member(db):
    return funded_member()


def messages(member, code: str | None = None) -> list[Notification]:
    """The member's order messages (other kinds, like a points message, are other tests' concern)."""
    rows = Notification.objects.filter(user=member, kind=NotificationKind.ORDER).order_by("pk")
    return list(rows.filter(message_code=code) if code else rows)


def only(member, code: str) -> Notification:
    rows = messages(member, code)
    assert len(rows) == 1, [m.message_code for m in messages(member)]
    return rows[0]


def read(message: Notification, language: str = "en") -> tuple[str, str]:
    with translation.override(language):
        text = message.text()
    return text.title, text.body


def assert_order_message(message: Notification, order) -> None:
    assert message.kind == NotificationKind.ORDER
    assert message.transactional is True
    assert message.link == f"/mall/orders/{order.pk}/"


# --- Placing ----------------------------------------------------------------------------------


def test_a_parcel_placed_without_review_is_approved_at_once(member):
    product = make_product(name_zh="茶具", name_en="Tea set")
    order = redeem(member, product)

    message = only(member, "catalog.order_approved")
    assert_order_message(message, order)
    assert message.dedupe_key == f"order:{order.pk}:approved"
    assert read(message) == (
        f"Order #{order.pk} · To ship: Tea set",
        "Your order is being packed and will ship soon.",
    )
    # The reader's language picks the item's name too.
    assert "茶具" in read(message, "zh-hans")[0]


def test_an_order_under_review_says_a_message_comes_when_it_is_approved(member, operator):
    order = redeem(member, make_product(name_en="Lamp", requires_review=True))

    received = only(member, "catalog.order_received")
    assert_order_message(received, order)
    assert read(received) == (
        f"Order #{order.pk} received: Lamp",
        "The mall is checking your order. You will get a message when it is approved.",
    )
    # The promise is kept.
    services.order_approve(order_id=order.pk, actor_id=operator.pk)
    assert read(only(member, "catalog.order_approved"))[0] == f"Order #{order.pk} · To ship: Lamp"


def test_a_code_order_says_the_code_is_ready_without_the_code_itself(member):
    product = make_product(kind=ProductKind.VIRTUAL, name_zh="视频会员", name_en="Video pass", stock=5)
    codes = add_codes(product, 2)
    order = redeem(member, product)
    assert order.status == OrderStatus.COMPLETED

    message = only(member, "catalog.order_code_ready")
    assert_order_message(message, order)
    title, body = read(message)
    assert title == f"Order #{order.pk}: your code for Video pass is ready"
    assert body == "Open the order to see it. Keep it to yourself: anyone who has it can use it."
    # The code goes by e-mail and SMS too, maybe: it is never in the message.
    for code in codes:
        assert code not in title + body + str(message.params)
        assert code not in "".join(read(message, "zh-hans"))
    assert "视频会员" in read(message, "zh-hans")[0]


def test_a_coupon_says_coupon(member):
    product = make_product(kind=ProductKind.COUPON, name_en="Coffee coupon", stock=5)
    add_codes(product, 1)
    redeem(member, product)
    assert read(only(member, "catalog.order_code_ready"))[0].endswith("your coupon for Coffee coupon is ready")


def test_a_reviewed_code_order_gets_one_message_when_approved_the_code_is_ready(member, operator):
    product = make_product(kind=ProductKind.VIRTUAL, stock=5, requires_review=True)
    add_codes(product, 1)
    order = redeem(member, product)
    services.order_approve(order_id=order.pk, actor_id=operator.pk)

    assert [m.message_code for m in messages(member)] == ["catalog.order_received", "catalog.order_code_ready"]


def test_a_refused_redemption_sends_nothing(member):
    product = make_product(stock=0)
    with pytest.raises((SoldOutError, OutOfStockError)):
        redeem(member, product)
    assert messages(member) == []


# --- Cash: payment due, paid, refunded --------------------------------------------------------


@pytest.fixture
def offline(settings):
    settings.CATALOG_PAYMENT_BACKEND = "offline"


def place_with_cash(member, **fields):
    order = redeem(member, make_product(name_en="Kettle", points_price=500, cash_price=Decimal("12.50"), **fields))
    assert order.status == OrderStatus.AWAITING_PAYMENT
    return order


def pay(order, operator):
    services.payment_begin(order_id=order.pk, member_id=order.member_id)
    order.refresh_from_db()
    return services.order_mark_paid(order_id=order.pk, payment_reference=order.payment_reference, actor_id=operator.pk)


def test_a_points_and_cash_order_says_how_much_to_pay_and_by_when(member, settings):
    settings.CATALOG_PAYMENT_TIMEOUT_MINUTES = 15
    order = place_with_cash(member)

    message = only(member, "catalog.order_payment_due")
    assert_order_message(message, order)
    assert read(message) == (
        f"Order #{order.pk}: one more step to pay for Kettle",
        "Pay ¥12.50 by 2025-06-01 10:15, or the order is cancelled and your points come back.",
    )
    assert "2025-06-01 10:15" in read(message, "zh-hans")[1]


def test_payment_received_then_a_refund_when_the_paid_order_is_cancelled(member, operator, offline):
    order = place_with_cash(member)
    pay(order, operator)

    paid = only(member, "catalog.order_paid")
    assert_order_message(paid, order)
    assert read(paid) == (f"Order #{order.pk} paid: Kettle", "We received your payment of ¥12.50.")

    services.order_cancel(order_id=order.pk, member_id=member.pk, reason="Changed my mind")
    cancelled = only(member, "catalog.order_cancelled")
    assert read(cancelled)[1] == (
        "You cancelled this order: Changed my mind. Your 500 points were refunded. "
        "The ¥12.50 you paid is being refunded to your original payment method."
    )

    refund = CashRefund.objects.get(order=order)
    services.cash_refund_record(refund_id=refund.pk, actor_id=operator.pk, reference="BANK-1")
    refunded = only(member, "catalog.order_refunded")
    assert_order_message(refunded, order)
    assert refunded.dedupe_key == f"order:{order.pk}:refund:{refund.pk}"
    assert read(refunded) == (
        f"Order #{order.pk}: ¥12.50 refunded",
        "¥12.50 was refunded to your original payment method.",
    )
    # Recording it again is refused, and sends nothing more.
    with pytest.raises(RefundAlreadyRecordedError):
        services.cash_refund_record(refund_id=refund.pk, actor_id=operator.pk, reference="BANK-1")
    assert len(messages(member, "catalog.order_refunded")) == 1


def test_an_unpaid_order_cancelled_by_the_timeout_says_why(member, clock):
    order = place_with_cash(member)
    clock.shift(timedelta(hours=1))
    assert services.orders_cancel_unpaid() == 1

    message = only(member, "catalog.order_cancelled")
    assert_order_message(message, order)
    assert read(message) == (
        f"Order #{order.pk} cancelled: Kettle",
        "The payment did not arrive in time, so the order was cancelled. Your 500 points were refunded.",
    )
    # The sweep again: nothing more.
    assert services.orders_cancel_unpaid() == 0
    assert len(messages(member, "catalog.order_cancelled")) == 1


# --- Review, shipping, delivery, cancellation -------------------------------------------------


def test_a_rejected_order_gives_the_operators_reason(member, operator):
    order = redeem(member, make_product(name_en="Lamp", requires_review=True))
    services.order_reject(order_id=order.pk, actor_id=operator.pk, reason="Out of season")

    message = only(member, "catalog.order_rejected")
    assert_order_message(message, order)
    assert read(message) == (
        f"Order #{order.pk} · Declined: Lamp",
        "The mall could not accept this order: Out of season. Your 500 points were refunded.",
    )
    assert "Out of season" in read(message, "zh-hans")[1]


def test_a_rejection_without_a_reason_is_refused_and_sends_nothing(member, operator):
    order = redeem(member, make_product(requires_review=True))
    before = messages(member)
    with pytest.raises(ReasonRequiredError):
        services.order_reject(order_id=order.pk, actor_id=operator.pk, reason="  ")
    assert messages(member) == before


def test_a_shipped_parcel_names_its_carrier_and_tracking_number(member, operator):
    order = redeem(member, make_product(name_zh="茶具", name_en="Tea set"))
    services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF Express", tracking_number="SF1234567")

    message = only(member, "catalog.order_shipped")
    assert_order_message(message, order)
    assert message.dedupe_key == f"order:{order.pk}:shipped"
    assert read(message) == (
        f"Order #{order.pk} · To receive: Tea set",
        "Carrier: SF Express. Tracking number: SF1234567. Confirm receipt once it arrives.",
    )
    zh_title, zh_body = read(message, "zh-hans")
    assert "茶具" in zh_title
    assert "SF1234567" in zh_body
    # Shipping again is refused and sends nothing more.
    with pytest.raises(InvalidTransitionError):
        services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF Express", tracking_number="SF1")
    assert len(messages(member, "catalog.order_shipped")) == 1


def test_shipping_without_a_tracking_number_is_refused_and_sends_nothing(member, operator):
    order = redeem(member, make_product())
    before = messages(member)
    with pytest.raises(ReasonRequiredError):
        services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF Express", tracking_number="")
    assert messages(member) == before


def test_delivered_by_the_mall_is_told_the_members_own_confirmation_is_not(member, operator):
    order = redeem(member, make_product(name_en="Tea set"))
    services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF", tracking_number="1")
    services.order_deliver(order_id=order.pk, actor_id=operator.pk)

    message = only(member, "catalog.order_delivered")
    assert_order_message(message, order)
    assert read(message) == (
        f"Order #{order.pk} · Delivered: Tea set",
        "Confirm receipt and tell other members what you think.",
    )
    count = len(messages(member))
    services.order_confirm_receipt(order_id=order.pk, member_id=member.pk)
    assert len(messages(member)) == count


def test_an_operator_cancelling_says_so_with_the_reason(member, operator):
    order = redeem(member, make_product(name_en="Lamp"))
    services.order_cancel(order_id=order.pk, actor_id=operator.pk, reason="Damaged in the warehouse")

    message = only(member, "catalog.order_cancelled")
    assert_order_message(message, order)
    assert read(message)[1] == (
        "The mall cancelled this order: Damaged in the warehouse. Your 500 points were refunded."
    )
    # Cancelling again is refused and sends nothing more.
    with pytest.raises(InvalidTransitionError):
        services.order_cancel(order_id=order.pk, actor_id=operator.pk)
    assert len(messages(member, "catalog.order_cancelled")) == 1


def test_a_member_cancelling_without_a_reason(member):
    order = redeem(member, make_product())
    services.order_cancel(order_id=order.pk, member_id=member.pk)
    assert read(only(member, "catalog.order_cancelled"))[1] == (
        "You cancelled this order. Your 500 points were refunded."
    )


def test_the_same_event_told_twice_is_one_message(member):
    order = redeem(member, make_product())
    order_messages.order_placed_notify(order=order)
    assert len(messages(member, "catalog.order_approved")) == 1


def test_an_order_message_is_only_its_members(member):
    other = funded_member()
    redeem(member, make_product())
    assert messages(other) == []


def test_a_late_offline_payment_refunded_by_hand_says_why(member, operator, offline, clock):
    order = place_with_cash(member)
    clock.shift(timedelta(hours=1))
    services.orders_cancel_unpaid()
    refund = services.payment_offline_late_record(order_id=order.pk, actor_id=operator.pk)
    services.cash_refund_record(refund_id=refund.pk, actor_id=operator.pk, reference="BANK-2")

    message = only(member, "catalog.order_refunded")
    assert_order_message(message, order)
    assert read(message)[1] == (
        "Your payment of ¥12.50 arrived after the order was cancelled, so it was refunded to your original "
        "payment method."
    )


def test_a_gateway_refund_is_told_once_when_the_gateway_confirms_it(member, settings):
    settings.CATALOG_PAYMENT_BACKEND = "sandbox"
    order = place_with_cash(member)
    services.payment_begin(order_id=order.pk, member_id=member.pk)
    order.refresh_from_db()
    paid = Payment(reference=order.payment_reference, order_id=order.pk, amount=order.cash_total, status="paid",
                   timestamp=0, nonce="n1")  # fmt: skip
    services.payment_notification_apply(notification=paid, backend="sandbox")
    services.order_cancel(order_id=order.pk, member_id=member.pk)
    refund = CashRefund.objects.get(order=order)
    assert messages(member, "catalog.order_refunded") == []

    confirmed = RefundNotification(
        reference=refund.reference, payment_reference=refund.payment_reference, order_id=order.pk,
        amount=refund.amount, status="refunded", attempt=refund.attempt, reason="", timestamp=0, nonce="n2",
    )  # fmt: skip
    services.refund_notification_apply(notification=confirmed, backend="sandbox")
    services.refund_notification_apply(notification=confirmed, backend="sandbox")  # the gateway retries
    message = only(member, "catalog.order_refunded")
    assert read(message) == (
        f"Order #{order.pk}: ¥12.50 refunded",
        "¥12.50 was refunded to your original payment method.",
    )


def test_a_privilege_done_at_once_says_it_is_completed(member):
    order = redeem(member, make_product(kind=ProductKind.PRIVILEGE, name_en="Silver for a week"))
    assert order.status == OrderStatus.COMPLETED
    message = only(member, "catalog.order_completed")
    assert_order_message(message, order)
    assert read(message) == (f"Order #{order.pk} completed: Silver for a week", "All done. Enjoy!")
