"""Points + cash: the payment backends, the sandbox gateway and its signed callback, end to end.

The callback always goes through the real view: with the Django test client standing in
for the network (the gateway's real task builds, signs and posts the notification), and
once over a real socket to a live server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from catalog import payment_jobs, payments, services
from catalog.enums import OrderStatus, PaymentBackendName, RefundReason, RefundStatus
from catalog.exceptions import SandboxPaidByGatewayError
from catalog.models import CashRefund, Order, OrderEvent
from catalog.payments import SIGNATURE_HEADER, SandboxBackend
from points import selectors as points_selectors
from tests.catalog.conftest import PIN, SECRET, signed, urlopen_through

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI)
CALLBACK = "/mall/pay/callback/sandbox/"

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold", "sandbox_gateway")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def order(buyer, make_product, make_address) -> Order:
    product = make_product(points_price=500, cash_price=Decimal("12.50"), stock=3)
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=1,
        idempotency_key="pay-order",
        pin=PIN,
        address_id=make_address(buyer),
    )


@pytest.fixture
def member_client(client, buyer):
    client.force_login(buyer)
    return client


def _held_notifications() -> list[tuple[str, str]]:
    """(reference, callback URL) of the gateway's notifications held in the job outbox, oldest first."""
    from pointsmall.outbox.models import OutboxJob

    return [
        (job.args[0], job.args[1])
        for job in OutboxJob.objects.filter(task=payment_jobs.sandbox_gateway_deliver.name).order_by("pk")
    ]


@pytest.fixture
def dispatched() -> Callable[[], list[str]]:
    """The references the gateway page handed to its notification task (held in the job outbox:
    the test's transaction never commits, so nothing is sent yet)."""
    return lambda: [reference for reference, _callback in _held_notifications()]


@pytest.fixture
def dispatched_to() -> Callable[[], list[tuple[str, str]]]:
    """(reference, callback URL) the gateway page handed to its notification task."""
    return _held_notifications


@pytest.fixture
def network_is_the_test_client(monkeypatch, client):
    """The gateway's HTTP POST reaches the real callback view through the test client."""
    monkeypatch.setattr(payments.urllib.request, "urlopen", urlopen_through(client))


def started(member_client, order) -> Order:
    response = member_client.post(reverse("payment_start", args=[order.pk]))
    order.refresh_from_db()
    assert response.status_code == 302
    assert response.url == f"/mall/pay/sandbox/{order.payment_reference}/"
    return order


def notification(order: Order, *, signing_key: str = SECRET, **changes) -> tuple[bytes, str]:
    body = SandboxBackend.gateway_notification(
        reference=order.payment_reference, order_id=order.pk, amount=order.cash_total
    )
    if changes:
        data = json.loads(body)
        data.update(changes)
        body = json.dumps(data).encode()
    return body, signed(body, signing_key)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def post_notification(client, body: bytes, signature: str | None):
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    return client.post(CALLBACK, data=body, content_type="application/json", headers=headers)


def written(order: Order) -> tuple:
    order.refresh_from_db()
    return (
        order.status,
        order.paid_at,
        order.payment_reference,
        OrderEvent.objects.filter(order=order).count(),
        points_selectors.spendable_balance(user_id=order.member_id),
    )


# --- The sandbox gateway, end to end ---------------------------------------------------------


def test_sandbox_flow_start_gateway_pay_signed_notification_paid(
    member_client, order, dispatched, network_is_the_test_client, buyer
):
    assert order.status == OrderStatus.AWAITING_PAYMENT
    order = started(member_client, order)
    assert order.payment_backend == PaymentBackendName.SANDBOX
    assert order.payment_reference.startswith(f"SBX-{order.pk}-")

    page = member_client.get(f"/mall/pay/sandbox/{order.payment_reference}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Sandbox gateway · test mode" in html
    assert "No real money moves." in html
    assert "Pay ¥12.50" in html
    assert 'data-testid="gateway-cancel"' in html

    paid = member_client.post(f"/mall/pay/sandbox/{order.payment_reference}/pay/")
    assert paid.status_code == 302
    assert paid.url == f"/mall/pay/{order.pk}/status/"
    assert dispatched() == [order.payment_reference]
    # Returning to the mall is not proof of payment: only the notification is.
    assert written(order)[:2] == (OrderStatus.AWAITING_PAYMENT, None)
    waiting = member_client.get(paid.url)
    assert waiting.context["refresh"] is True
    assert "Waiting for the payment gateway to confirm your payment." in waiting.content.decode()

    assert payment_jobs.sandbox_gateway_deliver.apply(args=[order.payment_reference]).get() == "delivered"

    order.refresh_from_db()
    assert (order.status, order.paid_at) == (OrderStatus.APPROVED, T0)
    assert list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status")) == [
        ("", OrderStatus.AWAITING_PAYMENT),
        (OrderStatus.AWAITING_PAYMENT, OrderStatus.APPROVED),
    ]
    done = member_client.get(paid.url)
    assert done.context["refresh"] is False
    assert "Payment received on 2025-06-01 10:00." in done.content.decode()
    assert points_selectors.spendable_balance(user_id=buyer.pk) == 1500


def test_an_operator_cannot_confirm_a_sandbox_payment_by_hand(member_client, order, operator):
    """Only the gateway's signed notification confirms a sandbox payment (the service refuses, not the admin)."""
    order = started(member_client, order)
    before = written(order)
    with pytest.raises(SandboxPaidByGatewayError):
        services.order_mark_paid(order_id=order.pk, payment_reference=f"offline:{operator.pk}", actor_id=operator.pk)
    assert written(order) == before


def test_starting_twice_reuses_the_payment_reference(member_client, order):
    first = started(member_client, order).payment_reference
    assert started(member_client, order).payment_reference == first


def test_opening_the_payment_page_writes_nothing_only_its_pay_button_starts_the_payment(
    member_client, order, nothing_written
):
    url = reverse("payment_start", args=[order.pk])
    with nothing_written():
        page = member_client.get(url)
    order.refresh_from_db()
    html = page.content.decode()
    assert page.status_code == 200
    assert (order.payment_reference, order.payment_backend) == ("", "")
    assert f'<form method="post" action="{url}" data-once>' in html
    assert 'data-testid="pay-now"' in html
    assert "Pay ¥12.50" in html
    assert started(member_client, order).payment_reference.startswith(f"SBX-{order.pk}-")


def test_no_payment_page_writes_on_get(member_client, order, nothing_written):
    """Every GET of the payment pages, before and after the payment started: the order is unchanged."""
    before = written(order)
    with nothing_written():
        member_client.get(reverse("payment_start", args=[order.pk]))
        member_client.get(reverse("payment_status", args=[order.pk]))
    assert written(order) == before
    order = started(member_client, order)
    reference = order.payment_reference
    before = written(order)
    with nothing_written():
        member_client.get(f"/mall/pay/sandbox/{reference}/")
        member_client.get(reverse("payment_start", args=[order.pk]))
        member_client.get(reverse("payment_status", args=[order.pk]))
        assert member_client.get(f"/mall/pay/sandbox/{reference}/pay/").status_code == 405
        assert member_client.get(f"/mall/pay/sandbox/{reference}/cancel/").status_code == 405
    assert written(order) == before


def test_cancel_on_the_gateway_sends_nothing_and_the_order_still_waits(member_client, order, dispatched):
    order = started(member_client, order)
    before = written(order)
    response = member_client.post(f"/mall/pay/sandbox/{order.payment_reference}/cancel/", follow=True)
    assert messages_of(response) == [
        "You left the payment page without paying. You can still pay until 2025-06-01 10:15; "
        "after that the order is cancelled and your points are refunded."
    ]
    assert dispatched() == []
    assert written(order) == before


def test_the_gateway_refuses_to_take_an_expired_payment(member_client, order, dispatched, clock):
    order = started(member_client, order)
    clock.move_to(T0 + timedelta(minutes=15))
    page = member_client.get(f"/mall/pay/sandbox/{order.payment_reference}/")
    assert page.context["payable"] is False
    assert "This payment has expired. Nothing was charged." in page.content.decode()
    response = member_client.post(f"/mall/pay/sandbox/{order.payment_reference}/pay/", follow=True)
    assert messages_of(response) == ["This payment expired at 2025-06-01 10:15. Nothing was charged."]
    assert dispatched() == []


def test_a_payment_cannot_start_after_its_time_ran_out(member_client, order, clock):
    clock.move_to(T0 + timedelta(minutes=15))
    page = member_client.get(reverse("payment_start", args=[order.pk]))
    assert page.context["expired"] is True
    assert 'data-testid="pay-now"' not in page.content.decode()
    response = member_client.post(reverse("payment_start", args=[order.pk]), follow=True)
    assert response.redirect_chain == [(f"/mall/pay/{order.pk}/status/", 302)]
    assert messages_of(response) == [
        "The time to pay for this order ran out at 2025-06-01 10:15. It will be cancelled and your points refunded."
    ]
    order.refresh_from_db()
    assert (order.payment_reference, order.payment_backend) == ("", "")


def test_a_paid_order_has_nothing_left_to_pay(member_client, order, network_is_the_test_client):
    order = started(member_client, order)
    payment_jobs.sandbox_gateway_deliver.apply(args=[order.payment_reference]).get()
    response = member_client.post(reverse("payment_start", args=[order.pk]), follow=True)
    assert response.redirect_chain == [(f"/mall/pay/{order.pk}/status/", 302)]
    assert messages_of(response) == ["This order can't be paid in its current state (Approved)."]
    page = member_client.get(reverse("payment_start", args=[order.pk]))
    assert (page.status_code, page.url) == (302, f"/mall/pay/{order.pk}/status/")


# --- The callback: replayed, forged, stale, late ------------------------------------------------


def test_a_replayed_notification_is_acknowledged_and_changes_nothing(member_client, order, client):
    order = started(member_client, order)
    body, signature = notification(order)
    first = post_notification(client, body, signature)
    assert (first.status_code, first.content) == (200, b"ok")
    after_first = written(order)
    replay = post_notification(client, body, signature)
    assert (replay.status_code, replay.content) == (200, b"already processed")
    assert written(order) == after_first
    fresh_copy, fresh_signature = notification(order)
    assert post_notification(client, fresh_copy, fresh_signature).content == b"already processed"
    assert written(order) == after_first


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body, sig: (body, None), id="no-signature"),
        pytest.param(lambda body, sig: (body, "0" * 64), id="wrong-signature"),
        pytest.param(lambda body, sig: (body, "é" * 64), id="non-ascii-signature"),
        pytest.param(lambda body, sig: (body.replace(b'"12.50"', b'"0.01"'), sig), id="tampered-amount"),
    ],
)
def test_a_forged_notification_is_refused_and_writes_nothing(
    forge, member_client, order, client, caplog, nothing_written
):
    order = started(member_client, order)
    body, signature = forge(*notification(order))
    with nothing_written(), caplog.at_level(logging.WARNING, logger="catalog.payment_views"):
        response = post_notification(client, body, signature)
    assert (response.status_code, response.content) == (400, b"Invalid notification: missing or wrong signature.")
    assert "sandbox payment callback refused (bad_signature)" in caplog.text


def test_a_notification_signed_with_another_secret_is_refused(member_client, order, client, nothing_written):
    order = started(member_client, order)
    with nothing_written():
        response = post_notification(client, *notification(order, signing_key="not-our-secret"))
    assert response.status_code == 400


@pytest.mark.parametrize(("age", "accepted"), [(600, True), (601, False), (-600, True), (-601, False)])
def test_a_notification_older_or_newer_than_ten_minutes_is_refused(
    age, accepted, member_client, order, client, nothing_written
):
    order = started(member_client, order)
    body, signature = notification(order, timestamp=int(time.time()) - age)
    if accepted:
        assert post_notification(client, body, signature).status_code == 200
        return
    with nothing_written():
        response = post_notification(client, body, signature)
    assert response.status_code == 400
    assert response.content == b"Invalid notification: its timestamp is more than 600 seconds away from ours."


def test_a_late_notification_after_the_timeout_keeps_the_order_cancelled_and_opens_a_refund(
    member_client,
    order,
    dispatched,
    network_is_the_test_client,
    clock,
    caplog,
    buyer,
    django_capture_on_commit_callbacks,
):
    order = started(member_client, order)
    member_client.post(f"/mall/pay/sandbox/{order.payment_reference}/pay/")
    assert dispatched() == [order.payment_reference]
    # The notification is delayed past the payment deadline; the sweep cancels and refunds first.
    clock.move_to(T0 + timedelta(minutes=16))
    assert services.orders_cancel_unpaid() == 1
    assert points_selectors.spendable_balance(user_id=buyer.pk) == 2000
    assert not CashRefund.objects.exists()  # nothing was paid yet: nothing is owed
    cancelled = written(order)

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks() as asked:
        assert payment_jobs.sandbox_gateway_deliver.apply(args=[order.payment_reference]).get() == "late"

    # The money that arrived is owed back: one row, with its amount, payment and state.
    refund = CashRefund.objects.get()
    assert (refund.order_id, refund.member_id, refund.reason, refund.status) == (
        order.pk,
        buyer.pk,
        RefundReason.LATE_PAYMENT,
        RefundStatus.DUE,
    )
    assert (refund.amount, refund.payment_reference, refund.backend) == (
        Decimal("12.50"),
        order.payment_reference,
        PaymentBackendName.SANDBOX,
    )
    assert refund.notify_url == "http://testserver/mall/pay/callback/sandbox/refund/"
    assert len(asked) == 1  # the refund is asked of the gateway once the transaction commits
    assert written(order) == cancelled
    assert cancelled[:2] == (OrderStatus.CANCELLED, None)
    assert f"LATE PAYMENT: order {order.pk} was cancelled" in caplog.text
    assert f"cash refund {refund.reference} is due" in caplog.text

    # The same notification again (the gateway retries): acknowledged, still one refund.
    body, signature = notification(order)
    response = post_notification(member_client, body, signature)
    assert response.status_code == 200
    assert response.content.decode() == (
        f"late: order {order.pk} was cancelled before this payment arrived. It stays cancelled; "
        f"the mall refunds 12.50 to the payer (payment {order.payment_reference})."
    )
    assert CashRefund.objects.count() == 1
    assert written(order) == cancelled
    status = member_client.get(f"/mall/pay/{order.pk}/status/")
    html = status.content.decode()
    assert "This order was cancelled and its points were refunded." in html
    assert "¥12.50 is being refunded to your original payment method. Expect it within 1 working day." in html


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": "12.49"}, "costs 12.50, not 12.49"),
        ({"reference": "SBX-0-0000000000000000"}, "is not paid with reference SBX-0-0000000000000000"),
        ({"order_id": 999_999}, "no order 999999"),
        ({"status": "failed"}, "unsupported status 'failed'"),
    ],
)
def test_a_signed_notification_that_does_not_match_the_order_is_refused(
    changes, reason, member_client, order, client, nothing_written
):
    order = started(member_client, order)
    with nothing_written():
        response = post_notification(client, *notification(order, **changes))
    assert response.status_code == 400
    assert reason in response.content.decode()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"reference": "x"}',
        b'{"reference":"r","order_id":1,"amount":12.5,"status":"paid","timestamp":1,"nonce":"n"}',
    ],
    ids=["not-json", "not-an-object", "missing-fields", "float-amount"],
)
def test_a_signed_but_malformed_notification_is_refused(body, client, nothing_written):
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with nothing_written():
        response = post_notification(client, body, signature)
    assert response.status_code == 400
    assert response.content.startswith(b"Invalid notification: ")


def test_the_callback_needs_no_csrf_token_and_only_accepts_post(member_client, order, django_user_model):
    from django.test import Client

    order = started(member_client, order)
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(CALLBACK).status_code == 405
    assert post_notification(strict, *notification(order)).status_code == 200


# --- Who may see what -----------------------------------------------------------------------


def test_another_members_order_is_not_found_on_every_payment_page(member_client, order, other_member, client):
    order = started(member_client, order)
    client.force_login(other_member)
    assert client.get(f"/mall/pay/{order.pk}/").status_code == 404
    assert client.post(f"/mall/pay/{order.pk}/").status_code == 404
    assert client.get(f"/mall/pay/{order.pk}/status/").status_code == 404
    assert client.get(f"/mall/pay/sandbox/{order.payment_reference}/").status_code == 404
    assert client.post(f"/mall/pay/sandbox/{order.payment_reference}/pay/").status_code == 404
    assert client.post(f"/mall/pay/sandbox/{order.payment_reference}/cancel/").status_code == 404
    assert client.get("/mall/pay/999999/").status_code == 404


def test_payment_pages_need_a_signed_in_member(order, client):
    response = client.get(f"/mall/pay/{order.pk}/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# --- The offline backend --------------------------------------------------------------------


def test_the_offline_backend_shows_instructions_with_a_stable_reference(member_client, order, settings):
    settings.CATALOG_PAYMENT_BACKEND = "offline"
    posted = member_client.post(f"/mall/pay/{order.pk}/")
    assert (posted.status_code, posted.url) == (302, f"/mall/pay/{order.pk}/")
    response = member_client.get(posted.url)
    order.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200
    assert order.payment_backend == PaymentBackendName.OFFLINE
    assert order.payment_reference.startswith(f"OFF-{order.pk}-")
    assert (
        f"Pay ¥12.50 by bank transfer or at the service desk before 2025-06-01 10:15, quoting the reference "
        f"{order.payment_reference}." in html
    )
    assert response.context["start"].redirect_url == ""
    again = member_client.post(f"/mall/pay/{order.pk}/", follow=True)
    assert again.context["start"].reference == order.payment_reference
    assert written(order)[:2] == (OrderStatus.AWAITING_PAYMENT, None)


def test_an_order_keeps_the_backend_it_started_paying_with(member_client, order, settings):
    settings.CATALOG_PAYMENT_BACKEND = "offline"
    member_client.post(f"/mall/pay/{order.pk}/")
    settings.CATALOG_PAYMENT_BACKEND = "sandbox"
    response = member_client.post(f"/mall/pay/{order.pk}/", follow=True)
    assert response.status_code == 200
    assert response.context["start"].backend == PaymentBackendName.OFFLINE


def test_the_offline_backend_takes_no_notifications(rf):
    with pytest.raises(payments.InvalidNotificationError, match="confirmed by an operator"):
        payments.backend_named("offline").verify_notification(rf.post(CALLBACK))


def test_an_unknown_backend_setting_is_a_configuration_error(settings):
    settings.CATALOG_PAYMENT_BACKEND = "paypal"
    with pytest.raises(ImproperlyConfigured, match="choose one of offline, sandbox"):
        payments.configured_backend_name()


# --- The gateway's task ---------------------------------------------------------------------


def test_the_gateway_reports_when_the_mall_does_not_answer(member_client, order, settings, caplog):
    order = started(member_client, order)
    settings.CATALOG_PAYMENT_CALLBACK_BASE = "http://127.0.0.1:1"
    with caplog.at_level(logging.ERROR, logger="catalog.payment_jobs"):
        assert payment_jobs.sandbox_gateway_deliver.apply(args=[order.payment_reference]).get() == "undelivered"
    assert "could not notify the mall" in caplog.text
    assert written(order)[:2] == (OrderStatus.AWAITING_PAYMENT, None)


def test_the_gateway_knows_only_references_it_issued(db):
    assert payment_jobs.sandbox_gateway_deliver.apply(args=["SBX-1-unknown"]).get() == "unknown"


def test_the_gateway_notifies_the_host_and_port_the_member_paid_on(member_client, order, dispatched_to, settings):
    settings.ALLOWED_HOSTS = ["testserver", "mall.example.net"]
    order = started(member_client, order)
    member_client.post(f"/mall/pay/sandbox/{order.payment_reference}/pay/", headers={"host": "mall.example.net:8123"})
    assert dispatched_to() == [(order.payment_reference, "http://mall.example.net:8123/mall/pay/callback/sandbox/")]


def test_the_callback_base_setting_overrides_the_request(member_client, order, dispatched_to, settings):
    settings.CATALOG_PAYMENT_CALLBACK_BASE = "https://callbacks.example.com/"
    order = started(member_client, order)
    member_client.post(f"/mall/pay/sandbox/{order.payment_reference}/pay/", headers={"host": "localhost:8123"})
    assert dispatched_to() == [(order.payment_reference, "https://callbacks.example.com/mall/pay/callback/sandbox/")]


def test_without_a_request_or_setting_the_callback_goes_to_the_sites_domain(db, settings):
    from django.contrib.sites.models import Site

    Site.objects.filter(pk=settings.SITE_ID).update(domain="mall.example.org")
    Site.objects.clear_cache()
    settings.DEBUG = False
    assert payments.callback_base() == "https://mall.example.org"
    settings.DEBUG = True
    assert payments.callback_base() == "http://mall.example.org"
    Site.objects.clear_cache()


def test_a_callback_base_that_is_not_http_is_a_configuration_error(settings):
    settings.CATALOG_PAYMENT_CALLBACK_BASE = "ftp://mall.example.com"
    with pytest.raises(ImproperlyConfigured, match="must be an http"):
        payments.notify_url("payment_callback_sandbox", payments.callback_base())


def test_sandbox_payment_works_on_any_port_with_no_callback_setting(
    live_server, settings, buyer, make_product, eager_jobs
):
    """Item 11: the live server listens on a random port (never 8000) and nothing is configured.

    The member pays on the gateway page reached at the live server's host and port; the
    gateway's job POSTs over a real socket to the callback derived from that request.
    """
    assert not settings.CATALOG_PAYMENT_CALLBACK_BASE
    host = urlsplit(live_server.url).netloc
    assert not host.endswith(":8000")
    from django.test import Client

    member = Client(headers={"host": host})
    member.force_login(buyer)
    product = make_product(points_price=100, cash_price=Decimal("3.00"), kind="privilege")
    placed = services.order_redeem(user_id=buyer.pk, product_id=product.pk, quantity=1, idempotency_key="port", pin=PIN)
    assert member.post(reverse("payment_start", args=[placed.pk])).status_code == 302
    placed.refresh_from_db()
    response = member.post(f"/mall/pay/sandbox/{placed.payment_reference}/pay/")
    assert response.status_code == 302
    placed.refresh_from_db()
    assert (placed.status, placed.paid_at) == (OrderStatus.COMPLETED, T0)


def test_the_notification_travels_over_a_real_socket_to_the_callback(live_server, settings, buyer, make_product):
    """No stand-in network: urllib POSTs to a live server, whose real view verifies and applies it."""
    settings.CATALOG_PAYMENT_CALLBACK_BASE = live_server.url
    product = make_product(points_price=100, cash_price=Decimal("3.00"), kind="privilege")
    placed = services.order_redeem(user_id=buyer.pk, product_id=product.pk, quantity=1, idempotency_key="live", pin=PIN)
    start = services.payment_begin(order_id=placed.pk, member_id=buyer.pk)
    assert payment_jobs.sandbox_gateway_deliver.apply(args=[start.reference]).get() == "delivered"
    assert payment_jobs.sandbox_gateway_deliver.apply(args=[start.reference]).get() == "delivered"
    placed.refresh_from_db()
    assert (placed.status, placed.paid_at) == (OrderStatus.COMPLETED, T0)
    assert OrderEvent.objects.filter(order=placed).count() == 2
