"""Cancelling and confirming receipt ask first: the page's dialog (static/js/dialogs.js) or, without
JavaScript, the server's own confirmation page; confirm receipt from the order list; a double submit
completes once (docs/decisions/0060-dialogs-and-sheets.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.enums import OrderStatus
from catalog.models import Order, OrderEvent
from tests.catalog.conftest import balance
from tests.catalog.factories import make_member, make_product, redeem, shipped_order, written

pytestmark = pytest.mark.django_db

CONFIRMED = {"confirmed": "1"}


@pytest.fixture
def member(client):
    member = make_member(points=900)
    client.force_login(member)
    return member


def test_a_cancel_without_the_dialogs_answer_shows_the_question_and_writes_nothing(client, member):
    order = redeem(member, make_product(points_price=300))
    before = written()

    response = client.post(reverse("order_cancel", args=[order.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["question"] == "Cancel this order? Your points come back at once."
    assert 'data-testid="confirm-page"' in html
    assert '<input type="hidden" name="confirmed" value="1">' in html
    assert f'action="{reverse("order_cancel", args=[order.pk])}"' in html
    assert written() == before
    assert Order.objects.get(pk=order.pk).status == OrderStatus.APPROVED


def test_the_confirmation_pages_button_cancels(client, member):
    order = redeem(member, make_product(points_price=300))

    response = client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert balance(member) == 900
    assert response.redirect_chain[-1][0] == reverse("order_detail", args=[order.pk])


def test_a_receipt_without_the_dialogs_answer_asks_first_and_writes_nothing(client, member):
    order = shipped_order(member, make_product(points_price=100))
    before = written()

    response = client.post(reverse("order_confirm_receipt", args=[order.pk]))

    assert response.status_code == 200
    assert response.context["question"].startswith("Have you received this item?")
    assert 'data-testid="confirm-receipt"' in response.content.decode()
    assert written() == before
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED


def test_someone_elses_order_is_404_before_any_question(client, member):
    theirs = shipped_order(make_member(points=900), make_product(points_price=100))

    assert client.post(reverse("order_confirm_receipt", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("order_cancel", args=[theirs.pk])).status_code == 404


def test_confirming_receipt_twice_completes_once(client, member):
    order = shipped_order(member, make_product(points_price=100))
    url = reverse("order_confirm_receipt", args=[order.pk])

    first = client.post(url, CONFIRMED, follow=True)
    events = OrderEvent.objects.filter(order=order).count()
    second = client.post(url, CONFIRMED, follow=True)

    assert first.status_code == 200
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED
    assert OrderEvent.objects.filter(order=order).count() == events
    assert list(OrderEvent.objects.filter(order=order).order_by("pk").values_list("to_status", flat=True)) == [
        OrderStatus.APPROVED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    ]
    # The repeat is answered like the first, not with an error.
    assert [str(m) for m in second.context["messages"]] == [
        "Thanks for confirming. How was it? Write a review and earn points."
    ]


def test_the_order_list_offers_confirm_receipt_on_shipped_rows_only(client, member):
    shipped = shipped_order(member, make_product(points_price=100))
    waiting = redeem(member, make_product(points_price=100))

    html = client.get(reverse("order_list")).content.decode()

    assert html.count('data-testid="order-confirm-receipt"') == 1
    assert f'action="{reverse("order_confirm_receipt", args=[shipped.pk])}"' in html
    assert f'action="{reverse("order_confirm_receipt", args=[waiting.pk])}"' not in html
    assert 'data-confirm="Have you received this item?' in html


def test_confirming_from_the_list_goes_back_to_the_list(client, member):
    order = shipped_order(member, make_product(points_price=100))
    back = reverse("order_list") + "?status=shipped"

    response = client.post(reverse("order_confirm_receipt", args=[order.pk]), {**CONFIRMED, "next": back})

    assert response["Location"] == back
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/mall/orders/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "/accounts/logout/",
        "/mall/orders/../../accounts/",
        # Browsers resolve an encoded dot segment like a plain one: this would leave the list too.
        "/mall/orders/%2e%2e/%2E%2E/accounts/logout/",
    ],
)
def test_a_next_outside_the_order_list_is_ignored(client, member, target):
    order = shipped_order(member, make_product(points_price=100))

    response = client.post(reverse("order_confirm_receipt", args=[order.pk]), {**CONFIRMED, "next": target})

    assert response["Location"] == reverse("order_detail", args=[order.pk])


def test_order_page_buttons_ask_in_the_styled_dialog(client, member):
    order = redeem(member, make_product(points_price=100))

    html = client.get(reverse("order_detail", args=[order.pk])).content.decode()

    assert 'data-confirm="Cancel this order? Your points come back at once."' in html
    assert 'id="confirm-dialog"' in html and 'aria-modal="true"' in html
    assert 'aria-labelledby="confirm-dialog-title"' in html


def test_no_page_script_uses_the_browsers_confirm():
    scripts = Path(settings.BASE_DIR, "static", "js")
    for script in scripts.glob("*.js"):
        assert not re.search(r"(?<![\w-])confirm\(", script.read_text()), script.name
