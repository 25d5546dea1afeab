"""Points held for a host checkout (积分抵扣) are not the mall's to spend: quotes, pages and
redemptions all count the member's points as balance − held (docs/decisions/0033)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from catalog import services
from points import services as points_services
from points.exceptions import InsufficientPointsError
from points.models import Hold
from tests.catalog.conftest import PIN

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 10, 12, 0, tzinfo=SHANGHAI)

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def holding_buyer(make_buyer):
    """A member with 800 points, 500 of them held for a checkout at the shop."""
    buyer = make_buyer(800)
    points_services.points_hold_place(
        user_id=buyer.pk, amount=500, key="host:1:A1", reference="host.order:A1", expires_at=T0 + timedelta(minutes=15)
    )
    return buyer


def test_the_quote_shows_the_points_not_held(holding_buyer, make_product):
    product = make_product(points_price=300)
    quote = services.redemption_quote(user_id=holding_buyer.pk, product_id=product.pk, quantity=1)
    assert (quote.balance, quote.points_total) == (300, 300)


def test_a_redemption_needing_held_points_is_refused(holding_buyer, make_product, make_address, nothing_written):
    product = make_product(points_price=400)
    address_id = make_address(holding_buyer)
    with (
        nothing_written(),
        pytest.raises(InsufficientPointsError, match=r"^Not enough points: you have 300, this needs 400\.$"),
    ):
        services.order_redeem(
            user_id=holding_buyer.pk, product_id=product.pk, quantity=1, idempotency_key="r1", pin=PIN,
            address_id=address_id,
        )  # fmt: skip


def test_a_redemption_within_the_points_not_held_goes_through(holding_buyer, make_product, make_address):
    product = make_product(points_price=300)
    order = services.order_redeem(
        user_id=holding_buyer.pk, product_id=product.pk, quantity=1, idempotency_key="r1", pin=PIN,
        address_id=make_address(holding_buyer),
    )  # fmt: skip
    assert order.points_total == 300
    assert points_services.points_hold_capture(hold_id=Hold.objects.get().pk).status == "captured"
    assert points_services.points_verify().ok


def test_the_product_page_counts_only_the_points_not_held(client, holding_buyer, make_product):
    product = make_product(points_price=400)
    client.force_login(holding_buyer)

    page = client.get(reverse("product_detail", args=[product.pk])).content.decode()

    assert "Not enough points: you have 300, this needs 400." in page
