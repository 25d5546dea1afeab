"""What the mall tells a member states what the ledger did (issue #8, item 9).

The expiry reminder has its own tests in tests/accounts/test_notifications.py (one amount per
day, never a sum under the first day). Here: the other messages and lines that state amounts,
dates or plurals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts import services as accounts_services
from catalog import services as catalog_services
from catalog.enums import ProductKind
from catalog.models import Category, Product
from points import selectors as points_selectors
from points import services as points_services
from points.models import Account
from tests.factories import StaffFactory

# The dialog's answer (static/js/dialogs.js); without it the server asks first.
CONFIRMED = {"confirmed": "1"}

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
PIN = "258014"


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def redeem(user, points_price: int):
    category = Category.objects.create(name_zh="生活", name_en="Living", slug=f"living-{points_price}")
    product = Product.objects.create(
        name_zh="雨伞", name_en="Umbrella", category=category, kind=ProductKind.PHYSICAL, points_price=points_price
    )
    Product.objects.filter(pk=product.pk).update(stock=5)
    address = accounts_services.address_create(
        user_id=user.pk,
        recipient="王小明",
        phone="13800138000",
        province="上海市",
        city="上海市",
        district="浦东新区",
        detail="世纪大道 100 号",
        postal_code="200120",
    )
    accounts_services.pin_set(user_id=user.pk, pin=PIN)
    return catalog_services.order_redeem(
        user_id=user.pk, product_id=product.pk, quantity=1, idempotency_key="r", pin=PIN, address_id=address.id
    )


def test_a_cancellation_says_how_many_points_came_back_spendable(client, member, clock):
    points_services.points_earn(user_id=member.pk, amount=300, idempotency_key="e")
    order = redeem(member, 120)
    client.force_login(member)

    response = client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    assert messages_of(response) == ["Order cancelled. 120 points are back in your account."]
    assert points_selectors.spendable_balance(user_id=member.pk) == 300


def test_points_refunded_into_lots_that_expired_meanwhile_are_not_called_back(client, member, clock):
    # 100 points expire in two days; the order takes those first (FIFO by expiry), then 20 of the others.
    points_services.points_earn(
        user_id=member.pk, amount=100, idempotency_key="soon", expires_at=T0 + timedelta(days=2)
    )
    points_services.points_earn(user_id=member.pk, amount=50, idempotency_key="later")
    order = redeem(member, 120)
    client.force_login(member)
    clock.move_to(T0 + timedelta(days=3))

    response = client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    # Before: "Order cancelled. 120 points are back in your account." with 20 back.
    assert messages_of(response) == [
        "Order cancelled. 20 points are back in your account.",
        "100 points of this order had passed their expiry date since you redeemed, so they expired as they came back.",
    ]
    assert points_selectors.spendable_balance(user_id=member.pk) == 50
    assert points_services.points_verify().ok


def test_a_pending_earning_cancelled_before_it_vested_is_not_said_to_be_available(client, member, clock):
    points_services.purchase_record(user_id=member.pk, external_id="A1", amount=Decimal("200"))
    points_services.purchase_refund(external_id="A1", idempotency_key="refund-1")
    clock.move_to(T0 + timedelta(days=30))

    rows = points_selectors.history(user_id=member.pk).object_list
    purchase = next(row for row in rows if row.description == "Purchase A1")
    assert (purchase.cancelled, purchase.available_at, purchase.is_pending_credit) == (True, None, False)
    client.force_login(member)
    page = client.get(reverse("my_points")).content.decode()
    assert "Cancelled before it became available" in page
    assert "Available since" not in page
    assert points_services.points_verify().ok


def test_the_adjustment_message_says_point_for_one(client, member, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    url = reverse("admin:points_account_adjust", args=[Account.objects.get(user=member).pk])

    response = client.post(url, {"amount": "1", "reason": "Rounding", "idempotency_key": "adm-1"}, follow=True)

    assert messages_of(response) == [f"Adjusted {member} by +1 point. Balance now 1."]
    assert points_services.points_verify().ok


def test_the_tier_page_says_point_for_one(client, member):
    points_services.points_earn(user_id=member.pk, amount=999, idempotency_key="e")
    client.force_login(member)
    body = client.get(reverse("my_tier")).content.decode()
    assert "Earn 1 more point to reach Silver." in body


def test_the_inbox_promises_only_messages_the_mall_sends(client, member):
    client.force_login(member)
    body = client.get(reverse("inbox")).content.decode()
    assert (
        "No messages yet. We'll let you know here when points are about to expire, your tier changes "
        "or a friend you invited joins." in body
    )
    assert "an order ships" not in body
