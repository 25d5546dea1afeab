"""My orders: the list with its tabs, an order's page, cancelling, confirming receipt, and IDOR."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import services
from catalog.enums import OrderStatus, ProductKind
from catalog.models import Order
from tests.catalog.conftest import balance
from tests.catalog.factories import (
    add_codes,
    delivered_order,
    make_member,
    make_product,
    redeem,
    shipped_order,
    written,
)
from tests.factories import StaffFactory

# The dialog's answer (static/js/dialogs.js); without it the server asks first.
CONFIRMED = {"confirmed": "1"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    member = make_member(points=900)
    client.force_login(member)
    return member


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the list ----------------------------------------------------------------------------------


def test_order_list_shows_only_the_members_orders_newest_first(client, member):
    mine = redeem(member, make_product(name_en="Mine", points_price=100))
    newer = redeem(member, make_product(name_en="Newer", points_price=100))
    stranger = make_member(points=900)
    redeem(stranger, make_product(name_en="Theirs", points_price=100))

    response = client.get(reverse("order_list"))

    assert [row.id for row in response.context["page"].object_list] == [newer.pk, mine.pk]
    html = response.content.decode()
    assert html.count('data-testid="order-row"') == 2
    assert "Theirs" not in html


def test_order_list_tabs_filter_by_status_and_count(client, member):
    redeem(member, make_product(points_price=100))
    cancelled = redeem(member, make_product(points_price=100))
    services.order_cancel(order_id=cancelled.pk, member_id=member.pk)

    refunds = client.get(reverse("order_list"), {"status": "refund"})
    to_ship = client.get(reverse("order_list"), {"status": "to_ship"})

    assert [row.status for row in refunds.context["page"].object_list] == [OrderStatus.CANCELLED]
    assert [row.status for row in to_ship.context["page"].object_list] == [OrderStatus.APPROVED]
    assert ("to_ship", "To ship", 1) in [(v, str(label), n) for v, label, n in refunds.context["tabs"]]
    assert 'data-testid="order-tab-refund"' in refunds.content.decode()
    # Exactly one chip is highlighted: the one asked for.
    assert refunds.content.decode().count('aria-current="page" data-testid="order-tab-') == 1
    assert 'class="order-tab active" href="/mall/orders/?status=refund"' in refunds.content.decode()


def test_an_unknown_order_filter_says_so_and_shows_every_order(client, member):
    redeem(member, make_product(points_price=100))

    response = client.get(reverse("order_list"), {"status": "<everything>"})

    assert response.status_code == 200
    assert response.context["tab"] == "all"
    assert len(response.context["page"].object_list) == 1
    assert [str(m) for m in response.context["messages"]] == [
        "There is no order filter “<everything>”: showing all orders."
    ]
    assert "“&lt;everything&gt;”" in response.content.decode()  # escaped, never markup


@pytest.mark.parametrize("value", ["", "   ", " to_ship "])
def test_an_empty_or_padded_order_filter_is_no_filter_and_no_message(client, member, value):
    redeem(member, make_product(points_price=100))

    response = client.get(reverse("order_list") + f"?status={value}")

    assert response.status_code == 200
    assert response.context["tab"] == ("to_ship" if value.strip() else "all")
    assert len(response.context["page"].object_list) == 1
    assert _messages(response) == []


def test_the_to_review_tab_holds_completed_orders_not_reviewed_yet(client, member):
    completed = services.order_confirm_receipt(order_id=delivered_order(member).pk, member_id=member.pk)

    before = client.get(reverse("order_list"), {"status": "to_review"})
    services.review_post(order_id=completed.pk, member_id=member.pk, rating=5, text="Lovely, thank you")
    after = client.get(reverse("order_list"), {"status": "to_review"})

    assert [row.id for row in before.context["page"].object_list] == [completed.pk]
    assert list(after.context["page"].object_list) == []
    assert ("to_review", "To review", 0) in [(v, str(label), n) for v, label, n in after.context["tabs"]]


def test_order_statuses_read_in_the_members_words(client, member):
    approved = redeem(member, make_product(points_price=100))

    en = client.get(reverse("order_list")).content.decode()
    zh = client.get(reverse("order_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    detail = client.get(reverse("order_detail", args=[approved.pk])).content.decode()

    assert 'data-status="approved">To ship<' in en
    assert 'data-status="approved">待发货<' in zh
    assert "<h2>To ship</h2>" in detail
    assert "Approved" not in en and "已审核" not in zh


def test_order_list_links_a_points_and_cash_order_to_its_payment(client, member):
    order = redeem(member, make_product(points_price=100, cash_price="12.50"))

    html = client.get(reverse("order_list")).content.decode()

    assert f'href="{reverse("payment_start", args=[order.pk])}" data-testid="order-pay-link"' in html
    assert "Pay ¥12.50" in html


def test_an_empty_order_list_says_so(client, member):
    html = client.get(reverse("order_list")).content.decode()

    assert 'data-testid="no-orders"' in html


# --- an order's page ---------------------------------------------------------------------------


def test_order_page_shows_the_timeline_tracking_and_address(client, member):
    order = shipped_order(member, make_product(name_en="Kettle", points_price=300))

    response = client.get(reverse("order_detail", args=[order.pk]))

    html = response.content.decode()
    events = response.context["order"].events
    assert [e.status for e in events] == [OrderStatus.APPROVED, OrderStatus.SHIPPED]
    assert html.count('data-testid="timeline-event"') == 2
    assert "SF Express" in html and "SF123" in html
    assert "138****8000" in html
    assert 'data-testid="confirm-receipt"' in html
    assert 'data-testid="cancel-order"' not in html


def test_order_page_offers_cancel_before_shipping(client, member):
    order = redeem(member, make_product(points_price=100))

    html = client.get(reverse("order_detail", args=[order.pk])).content.decode()

    assert 'data-testid="cancel-order"' in html
    assert 'data-testid="write-review"' not in html


# --- cancel ------------------------------------------------------------------------------------


def test_cancelling_before_shipping_refunds_the_points_and_returns_the_stock(client, member):
    product = make_product(points_price=300, stock=5)
    order = redeem(member, product)

    response = client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert (balance(member), product.stock) == (900, 5)
    assert _messages(response) == ["Order cancelled. 300 points are back in your account."]
    assert response.redirect_chain[-1][0] == reverse("order_detail", args=[order.pk])


def test_cancelling_a_shipped_order_is_refused_and_writes_nothing(client, member):
    order = shipped_order(member, make_product(points_price=100))
    before = written()

    response = client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    assert _messages(response) == ["This order can't be cancelled in its current state (Shipped)."]
    assert written() == before


def test_cancel_needs_a_post(client, member):
    order = redeem(member, make_product(points_price=100))

    assert client.get(reverse("order_cancel", args=[order.pk])).status_code == 405


# --- confirm receipt ---------------------------------------------------------------------------


def test_confirming_receipt_completes_a_shipped_order(client, member):
    order = shipped_order(member, make_product(points_price=100))

    response = client.post(reverse("order_confirm_receipt", args=[order.pk]), CONFIRMED, follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert _messages(response) == ["Thanks for confirming. How was it? Write a review and earn points."]
    assert 'data-testid="write-review"' in response.content.decode()


def test_confirming_receipt_before_shipping_is_refused_and_writes_nothing(client, member):
    order = redeem(member, make_product(points_price=100))
    before = written()

    response = client.post(reverse("order_confirm_receipt", args=[order.pk]), CONFIRMED, follow=True)

    assert _messages(response) == ["This order can't be completed in its current state (Approved)."]
    assert written() == before
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED


# --- someone else's order: 404 on every URL ----------------------------------------------------


@pytest.fixture
def their_code_order():
    owner = make_member(points=900)
    product = make_product(kind=ProductKind.VIRTUAL, stock=0, points_price=100)
    add_codes(product, 1)
    return redeem(owner, product)


@pytest.fixture
def their_delivered_order():
    return delivered_order(make_member(points=900), make_product(points_price=100))


def test_another_members_order_page_is_404_and_shows_no_code(client, member, their_code_order):
    response = client.get(reverse("order_detail", args=[their_code_order.pk]))

    assert response.status_code == 404
    assert their_code_order.code.code not in response.content.decode()


def test_another_members_order_cannot_be_cancelled(client, member):
    theirs = redeem(make_member(points=900), make_product(points_price=100))
    before = written()

    response = client.post(reverse("order_cancel", args=[theirs.pk]), CONFIRMED)

    assert response.status_code == 404
    assert written() == before


def test_another_members_receipt_cannot_be_confirmed(client, member):
    theirs = shipped_order(make_member(points=900), make_product(points_price=100))
    before = written()

    response = client.post(reverse("order_confirm_receipt", args=[theirs.pk]), CONFIRMED)

    assert response.status_code == 404
    assert written() == before
    assert Order.objects.get(pk=theirs.pk).status == OrderStatus.SHIPPED


def test_another_members_order_cannot_be_reviewed(client, member, their_delivered_order):
    before = written()

    page = client.get(reverse("order_review", args=[their_delivered_order.pk]))
    post = client.post(reverse("order_review", args=[their_delivered_order.pk]), {"rating": 5, "text": "Mine now"})

    assert (page.status_code, post.status_code) == (404, 404)
    assert written() == before


def test_an_unknown_order_is_404_everywhere(client, member):
    assert client.get(reverse("order_detail", args=[424242])).status_code == 404
    assert client.post(reverse("order_cancel", args=[424242]), CONFIRMED).status_code == 404
    assert client.post(reverse("order_confirm_receipt", args=[424242]), CONFIRMED).status_code == 404
    assert client.get(reverse("order_review", args=[424242])).status_code == 404


def test_order_pages_need_a_signed_in_member(client):
    order = redeem(make_member(points=900), make_product(points_price=100))

    for url in (
        reverse("order_list"),
        reverse("order_detail", args=[order.pk]),
        reverse("order_review", args=[order.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED).status_code == 302


def test_a_staff_user_gets_no_special_view_of_members_orders(client):
    order = redeem(make_member(points=900), make_product(points_price=100))
    client.force_login(StaffFactory())

    assert client.get(reverse("order_detail", args=[order.pk])).status_code == 404
