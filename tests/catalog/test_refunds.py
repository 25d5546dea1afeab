"""Cash refunds: a paid order cancelled or rejected, or a payment that arrives too late, gives its cash back.

Every path ends with one CashRefund row per payment (amount, state, who opened it) and
the ledger's invariants. The sandbox gateway's refund confirmation goes through the real
callback view, with the Django test client standing in for the network; the payment
timeout racing a late payment runs on Postgres with real threads.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from catalog import payment_jobs, payments, selectors, services
from catalog.enums import OrderStatus, PaymentBackendName, RefundReason, RefundStatus
from catalog.exceptions import (
    InvalidTransitionError,
    RefundAlreadyRecordedError,
    RefundInProgressError,
    RefundNotRetryableError,
    RefundReferenceRequiredError,
)
from catalog.models import CashRefund, Order, OrderEvent
from catalog.payments import SIGNATURE_HEADER, SandboxBackend
from points import selectors as points_selectors
from points import services as points_services
from tests.catalog.conftest import PIN, balance, signed, urlopen_through
from tests.factories import MemberFactory

# The dialog's answer (static/js/dialogs.js); without it the server asks first.
CONFIRMED = {"confirmed": "1"}

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI)
PAYMENT_CALLBACK = "/mall/pay/callback/sandbox/"
REFUND_CALLBACK = "/mall/pay/callback/sandbox/refund/"
ORDERS_ADMIN = "/admin/catalog/order/"
CASH = Decimal("12.50")

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold", "sandbox_gateway")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.ADMIN_REQUIRE_MFA = False


@pytest.fixture
def asked(monkeypatch) -> list[int]:
    """The refunds handed to the ``catalog.cash_refund_request`` job (nothing is asked of the gateway yet)."""
    sent: list[int] = []
    monkeypatch.setattr(payment_jobs.cash_refund_request, "delay", sent.append)
    return sent


@pytest.fixture
def network(monkeypatch):
    """The gateway's HTTP POSTs reach the real callback views through a test client; the URLs it was given are kept."""
    urls: list[str] = []
    monkeypatch.setattr(payments.urllib.request, "urlopen", urlopen_through(Client(), urls))
    return urls


@pytest.fixture
def admin_client(operator):
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def member_client(buyer):
    client = Client()
    client.force_login(buyer)
    return client


def pay_by_gateway(order: Order) -> Order:
    """The sandbox gateway's signed "paid" notification, through the real callback view."""
    body = SandboxBackend.gateway_notification(
        reference=order.payment_reference, order_id=order.pk, amount=order.cash_total
    )
    response = Client().post(
        PAYMENT_CALLBACK, data=body, content_type="application/json", headers={SIGNATURE_HEADER: signed(body)}
    )
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    return order


@pytest.fixture
def place(buyer, make_product, make_address) -> Callable[..., Order]:
    """A points + cash order of a physical item (500 points + ¥12.50), placed by ``buyer``, waiting for payment."""
    counter = {"n": 0}

    def make(*, review: bool = False) -> Order:
        counter["n"] += 1
        product = make_product(points_price=500, cash_price=CASH, stock=3, requires_review=review)
        order = services.order_redeem(
            user_id=buyer.pk,
            product_id=product.pk,
            quantity=1,
            idempotency_key=f"refund-test-{counter['n']}",
            pin=PIN,
            address_id=make_address(buyer),
        )
        return order

    return make


@pytest.fixture
def paid(place, settings, operator) -> Callable[..., Order]:
    """A placed order, paid: through the sandbox gateway's notification, or confirmed offline by an operator."""

    def make(*, backend: str = "sandbox", review: bool = False) -> Order:
        order = place(review=review)
        settings.CATALOG_PAYMENT_BACKEND = backend
        services.payment_begin(order_id=order.pk, member_id=order.member_id)
        order.refresh_from_db()
        if backend == "sandbox":
            return pay_by_gateway(order)
        services.order_mark_paid(order_id=order.pk, payment_reference=order.payment_reference, actor_id=operator.pk)
        order.refresh_from_db()
        return order

    return make


def refund_body(refund: CashRefund, **changes) -> bytes:
    body = SandboxBackend.gateway_refund_notification(refund=refund, attempt=refund.attempt)
    if changes:
        data = json.loads(body)
        data.update(changes)
        body = json.dumps(data).encode()
    return body


def post_refund(body: bytes, signature: str | None, client: Client | None = None):
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    return (client or Client()).post(REFUND_CALLBACK, data=body, content_type="application/json", headers=headers)


def refund_state(refund: CashRefund) -> tuple:
    refund.refresh_from_db()
    return (
        refund.status,
        refund.attempt,
        refund.refunded_at,
        refund.retry_at,
        refund.failure,
        refund.settled_reference,
    )


def refunds_table() -> list[tuple]:
    return list(
        CashRefund.objects.order_by("pk").values_list(
            "status", "attempt", "requested_at", "retry_at", "refunded_at", "failure", "settled_reference", "updated_at"
        )
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def act(client, action: str, orders: list[Order], **data):
    return client.post(
        ORDERS_ADMIN,
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [o.pk for o in orders], **data},
        follow=True,
    )


def _effect(callback):
    """The side effect an on-commit callback runs (``after_commit`` wraps it in a logging guard)."""
    return inspect.getclosurevars(callback).nonlocals.get("effect", callback)


# --- A member cancels a paid order ----------------------------------------------------------


def test_a_member_cancelling_a_paid_order_gets_points_and_cash_back_through_the_gateway(
    paid, buyer, member_client, network, eager_jobs, django_capture_on_commit_callbacks
):
    order = paid()
    assert (order.status, order.paid_at) == (OrderStatus.APPROVED, T0)
    assert balance(buyer) == 1500

    with django_capture_on_commit_callbacks(execute=True) as committed:
        response = member_client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    # The refund is asked of the gateway only once the cancellation committed (with Redis, the
    # flash-sale gate's stock update is another on-commit callback).
    assert [_effect(c).__qualname__ for c in committed].count("_ask_on_commit.<locals>.ask") == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert balance(buyer) == 2000
    refund = CashRefund.objects.get()
    assert (refund.order_id, refund.member_id, refund.created_by_id, refund.reason) == (
        order.pk,
        buyer.pk,
        buyer.pk,
        RefundReason.CANCELLED,
    )
    assert (refund.amount, refund.payment_reference, refund.backend) == (CASH, order.payment_reference, "sandbox")
    assert refund.reference.startswith(f"RF-{order.pk}-")
    # The gateway was asked, confirmed at the address the member used, and the mall recorded it.
    assert network == ["http://testserver/mall/pay/callback/sandbox/refund/"]
    assert (refund.status, refund.attempt, refund.requested_at, refund.refunded_at) == (
        RefundStatus.REFUNDED,
        1,
        T0,
        T0,
    )
    assert messages_of(response) == [
        "Order cancelled. 500 points are back in your account.",
        "¥12.50 will be refunded to your original payment method within 1 working day.",
    ]
    assert 'data-testid="cash-refund" data-status="due"' in response.content.decode()  # before the commit
    html = member_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert 'data-testid="cash-refund" data-status="refunded"' in html
    assert "¥12.50 was refunded to your original payment method on 2025-06-01 10:00." in html
    assert 'data-testid="order-cash-refund">Refunded</span>' in html


def test_the_cash_refund_is_due_until_the_gateway_confirms_it(
    paid, buyer, member_client, asked, eager_jobs, network, django_capture_on_commit_callbacks
):
    order = paid()
    services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    refund = CashRefund.objects.get()
    assert refund.status == RefundStatus.DUE
    page = member_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert 'data-testid="cash-refund" data-status="due"' in page
    assert "¥12.50 is being refunded to your original payment method. Expect it within 1 working day." in page
    assert "The cash you paid is refunded too (see below)." in page
    assert 'data-testid="order-cash-refund">Refund due</span>' in page

    # The gateway holds its confirmation in the job outbox and relays it once the request commits.
    with django_capture_on_commit_callbacks(execute=True):
        assert payment_jobs.cash_refund_request.apply(args=[refund.pk]).get() == "requested"
    assert refund_state(refund)[:3] == (RefundStatus.REFUNDED, 1, T0)


def test_before_cancelling_a_paid_order_the_member_is_told_the_cash_comes_back_and_when(paid, place, member_client):
    order = paid()
    html = member_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert (
        'data-confirm="Cancel this order? Your points come back at once, and the cash ¥12.50 will be refunded '
        'to your original payment method within 1 working day."' in html
    )
    assert "If you cancel, the cash ¥12.50 goes back to your original payment method within 1 working day." in html

    unpaid = place()
    html = member_client.get(reverse("order_detail", args=[unpaid.pk])).content.decode()
    assert 'data-confirm="Cancel this order? Your points come back at once."' in html
    assert 'data-testid="cancel-refund-note"' not in html


def test_an_offline_payment_is_refunded_within_three_working_days(paid, member_client):
    order = paid(backend="offline")
    html = member_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "the cash ¥12.50 will be refunded to your original payment method within 3 working days." in html


def test_a_member_may_cancel_a_paid_order_under_review_but_not_once_shipped(paid, buyer, operator, asked):
    reviewed = paid(review=True)
    assert reviewed.status == OrderStatus.PENDING_REVIEW
    services.order_cancel(order_id=reviewed.pk, member_id=buyer.pk, actor_id=buyer.pk)
    assert CashRefund.objects.get(order=reviewed).status == RefundStatus.DUE

    shipped = paid()
    services.order_ship(order_id=shipped.pk, actor_id=operator.pk, carrier="SF", tracking_number="SF1234567")
    with pytest.raises(InvalidTransitionError):
        services.order_cancel(order_id=shipped.pk, member_id=buyer.pk, actor_id=buyer.pk)
    assert not CashRefund.objects.filter(order=shipped).exists()


def test_cancelling_twice_opens_one_refund(paid, buyer, asked, django_capture_on_commit_callbacks):
    order = paid()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    before = (refunds_table(), balance(buyer), OrderEvent.objects.count())
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransitionError):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    assert (refunds_table(), balance(buyer), OrderEvent.objects.count()) == before
    assert asked == [CashRefund.objects.get().pk]


def test_an_unpaid_order_cancelled_owes_no_cash(place, buyer, asked, django_capture_on_commit_callbacks):
    order = place()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    assert not CashRefund.objects.exists()
    assert asked == []


def test_a_broker_outage_does_not_fail_the_cancellation_and_the_sweep_asks_again(
    paid, buyer, member_client, monkeypatch, clock, django_capture_on_commit_callbacks
):
    order = paid()

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(payment_jobs.cash_refund_request, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED)
    assert response.status_code == 302
    refund = CashRefund.objects.get()
    assert (refund.status, refund.requested_at) == (RefundStatus.DUE, None)

    sent: list[int] = []
    monkeypatch.setattr(payment_jobs.cash_refund_request, "delay", sent.append)
    assert services.cash_refunds_retry_due() == 0  # too early: the request may still be on its way
    clock.move_to(T0 + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):  # the sweep asks through after_commit
        assert services.cash_refunds_retry_due() == 1
    assert sent == [refund.pk]


# --- An operator rejects a paid order ------------------------------------------------------


def test_an_operator_rejecting_a_paid_offline_order_opens_a_refund_and_records_it_by_hand(
    paid, buyer, operator, admin_client, member_client, asked, clock, django_capture_on_commit_callbacks
):
    order = paid(backend="offline")
    # The operator is told about the cash before confirming, as the member is before a cancel.
    confirm = act(admin_client, "reject_orders", [order]).content.decode()
    assert "¥12.50 paid: it will be refunded" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "reject_orders", [order], apply="1", reason="Out of delivery area")
    assert messages_of(response) == [
        "1 order rejected; points refunded.",
        f'Order #{order.pk}: cash refund of ¥12.50 due. Pay it back, then record it with "Record cash refund made".',
    ]
    assert balance(buyer) == 2000
    refund = CashRefund.objects.get()
    assert (refund.reason, refund.backend, refund.status, refund.created_by_id) == (
        RefundReason.REJECTED,
        PaymentBackendName.OFFLINE,
        RefundStatus.DUE,
        operator.pk,
    )
    assert asked == []  # nobody to ask: an operator pays an offline refund back

    due = admin_client.get(ORDERS_ADMIN, {"refund": "due"})
    assert [o.pk for o in due.context["cl"].result_list] == [order.pk]
    assert len(admin_client.get(ORDERS_ADMIN, {"refund": "refunded"}).context["cl"].result_list) == 0

    form = act(admin_client, "record_cash_refund", [order])
    assert form.templates[0].name == "admin/catalog/order/refund_record.html"
    with django_capture_on_commit_callbacks(execute=True):
        blank = act(admin_client, "record_cash_refund", [order], apply="1", **{f"reference_{refund.pk}": " "})
    assert "Enter the reference of the bank transfer or receipt." in blank.content.decode()
    assert refund_state(refund)[0] == RefundStatus.DUE

    clock.move_to(T0 + timedelta(hours=2))
    done = act(
        admin_client, "record_cash_refund", [order], apply="1", **{f"reference_{refund.pk}": "ICBC 2025-0601-88"}
    )
    assert messages_of(done) == ["Cash refund recorded for 1 order."]
    refund.refresh_from_db()
    assert (refund.status, refund.refunded_at, refund.recorded_by_id, refund.settled_reference) == (
        RefundStatus.REFUNDED,
        T0 + timedelta(hours=2),
        operator.pk,
        "ICBC 2025-0601-88",
    )
    assert [o.pk for o in admin_client.get(ORDERS_ADMIN, {"refund": "refunded"}).context["cl"].result_list] == [
        order.pk
    ]
    assert len(admin_client.get(ORDERS_ADMIN, {"refund": "due"}).context["cl"].result_list) == 0
    page = member_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "¥12.50 was refunded to your original payment method on 2025-06-01 12:00." in page
    assert "The mall could not accept this order: Out of delivery area. Your points were refunded." in page

    # Recording it again is refused and changes nothing.
    before = refunds_table()
    again = act(admin_client, "record_cash_refund", [order])
    assert messages_of(again) == [
        "None of the selected orders has a cash refund to record by hand: only refunds due on offline payments, "
        "and gateway refunds that failed, are recorded here."
    ]
    with pytest.raises(RefundAlreadyRecordedError, match="already made on 2025-06-01 12:00"):
        services.cash_refund_record(refund_id=refund.pk, actor_id=operator.pk, reference="again")
    assert refunds_table() == before


def test_an_operator_rejecting_a_paid_sandbox_order_has_the_gateway_refund_it(
    paid, buyer, admin_client, network, eager_jobs, django_capture_on_commit_callbacks
):
    order = paid(review=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "reject_orders", [order], apply="1", reason="Suspicious order")
    assert f"Order #{order.pk}: cash refund of ¥12.50 due; the payment gateway refunds it." in messages_of(response)
    refund = CashRefund.objects.get()
    assert (refund.reason, refund.status, refund.refunded_at) == (RefundReason.REJECTED, RefundStatus.REFUNDED, T0)
    assert balance(buyer) == 2000
    order_page = admin_client.get(f"{ORDERS_ADMIN}{order.pk}/change/").content.decode()
    assert refund.reference in order_page
    assert 'data-refund="refunded"' in order_page


def test_the_refund_list_is_read_only_and_searchable(paid, buyer, admin_client, asked):
    order = paid()
    services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    refund = CashRefund.objects.get()
    listing = admin_client.get("/admin/catalog/cashrefund/", {"q": refund.reference})
    assert [r.pk for r in listing.context["cl"].result_list] == [refund.pk]
    assert (
        len(admin_client.get("/admin/catalog/cashrefund/", {"status__exact": "refunded"}).context["cl"].result_list)
        == 0
    )
    assert (
        admin_client.post(f"/admin/catalog/cashrefund/{refund.pk}/change/", {"status": "refunded"}).status_code == 403
    )
    assert admin_client.get("/admin/catalog/cashrefund/add/").status_code == 403
    assert refund_state(refund)[0] == RefundStatus.DUE


def test_refund_rows_are_never_added_or_deleted_by_hand_by_any_staff_group(db):
    from django.contrib.auth.models import Permission

    granted = set(
        Permission.objects.filter(content_type__model="cashrefund").values_list("group__name", "codename")
    ) - {
        (None, codename) for codename in ("add_cashrefund", "change_cashrefund", "delete_cashrefund", "view_cashrefund")
    }
    assert granted == {
        ("Operators", "view_cashrefund"),
        ("Operators", "change_cashrefund"),
        ("Customer service", "view_cashrefund"),
    }


def test_operators_record_refunds_and_customer_service_only_sees_them(paid, buyer, asked):
    order = paid(backend="offline")
    services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    refund = CashRefund.objects.get()
    operator = MemberFactory(is_staff=True)
    operator.groups.add(Group.objects.get(name="Operators"))
    service = MemberFactory(is_staff=True)
    service.groups.add(Group.objects.get(name="Customer service"))

    as_service = Client()
    as_service.force_login(service)
    assert as_service.get("/admin/catalog/cashrefund/").status_code == 200
    action_form = as_service.get(ORDERS_ADMIN).context["action_form"]
    assert action_form is None or "record_cash_refund" not in dict(action_form.fields["action"].choices)
    as_service.post(
        ORDERS_ADMIN,
        {
            "action": "record_cash_refund",
            helpers.ACTION_CHECKBOX_NAME: [order.pk],
            "apply": "1",
            f"reference_{refund.pk}": "X-1",
        },
    )
    assert refund_state(refund)[0] == RefundStatus.DUE

    as_operator = Client()
    as_operator.force_login(operator)
    act(as_operator, "record_cash_refund", [order], apply="1", **{f"reference_{refund.pk}": "CASH-DESK-7"})
    assert refund_state(refund)[::5] == (RefundStatus.REFUNDED, "CASH-DESK-7")


# --- The sandbox gateway's refund confirmation: success, failure, replay, forgery --------------


@pytest.fixture
def due(paid, buyer, asked) -> CashRefund:
    """A cancelled sandbox order's refund, asked of the gateway (attempt 1), not yet confirmed."""
    order = paid()
    services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    refund = CashRefund.objects.get()
    CashRefund.objects.filter(pk=refund.pk).update(requested_at=T0)
    refund.refresh_from_db()
    return refund


def test_a_signed_refunded_notification_marks_the_refund_refunded_once(due):
    body = refund_body(due)
    first = post_refund(body, signed(body))
    assert (first.status_code, first.content) == (200, b"ok")
    after = refund_state(due)
    assert after[:3] == (RefundStatus.REFUNDED, 1, T0)
    replay = post_refund(body, signed(body))
    assert (replay.status_code, replay.content) == (200, b"already processed")
    fresh = refund_body(due)
    assert post_refund(fresh, signed(fresh)).content == b"already processed"
    assert refund_state(due) == after


def test_a_failed_refund_is_recorded_with_its_reason_and_retried_later(due, buyer, member_client, asked, clock):
    body = refund_body(due, status="failed", reason="card account closed")
    response = post_refund(body, signed(body))
    assert (response.status_code, response.content) == (200, b"ok")
    assert refund_state(due) == (RefundStatus.FAILED, 1, None, T0 + timedelta(minutes=10), "card account closed", "")
    replay = post_refund(body, signed(body))
    assert replay.content == b"already processed"

    page = member_client.get(reverse("order_detail", args=[due.order_id])).content.decode()
    assert (
        "The refund of ¥12.50 has not gone through yet. The mall is trying again; you don't need to do anything."
        in page
    )
    assert 'data-testid="order-cash-refund">Refund failed</span>' in page

    asked.clear()
    assert services.cash_refunds_retry_due() == 0
    clock.move_to(T0 + timedelta(minutes=10))
    assert services.cash_refunds_retry_due() == 1
    assert refund_state(due)[:2] == (RefundStatus.DUE, 2)
    # A replay of attempt 1's failure no longer counts: attempt 2 is under way.
    superseded = post_refund(body, signed(body))
    assert (superseded.status_code, superseded.content) == (200, b"superseded: a later attempt is under way")
    assert refund_state(due)[:2] == (RefundStatus.DUE, 2)
    confirmed = refund_body(due)
    assert post_refund(confirmed, signed(confirmed)).content == b"ok"
    assert refund_state(due)[:3] == (RefundStatus.REFUNDED, 2, T0 + timedelta(minutes=10))


def test_after_three_failed_attempts_an_operator_retries_or_pays_back_by_hand(
    due, operator, admin_client, asked, clock, django_capture_on_commit_callbacks
):
    for attempt, wait in ((1, 10), (2, 60), (3, None)):
        due.refresh_from_db()
        assert due.attempt == attempt
        body = refund_body(due, status="failed", reason="gateway busy")
        assert post_refund(body, signed(body)).content == b"ok"
        due.refresh_from_db()
        if wait is None:
            assert due.retry_at is None  # no more automatic tries: an operator decides
            assert services.cash_refunds_retry_due(now=T0 + timedelta(days=1)) == 0
        else:
            assert due.retry_at == T0 + timedelta(minutes=wait)
            assert services.cash_refunds_retry_due(now=due.retry_at) == 1
    assert due.status == RefundStatus.FAILED
    assert len(admin_client.get(ORDERS_ADMIN, {"refund": "failed"}).context["cl"].result_list) == 1
    assert len(admin_client.get(ORDERS_ADMIN, {"refund": "due"}).context["cl"].result_list) == 1

    asked.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "retry_cash_refunds", [due.order])
    assert messages_of(response) == ["1 cash refund asked of the gateway again."]
    assert refund_state(due)[:2] == (RefundStatus.DUE, 4)
    assert asked == [due.pk]
    with pytest.raises(RefundInProgressError):
        services.cash_refund_record(refund_id=due.pk, actor_id=operator.pk, reference="BANK-1")
    with pytest.raises(RefundNotRetryableError):
        services.cash_refund_retry(refund_id=due.pk)

    body = refund_body(due, status="failed", reason="gateway busy")
    post_refund(body, signed(body))
    record = act(admin_client, "record_cash_refund", [due.order], apply="1", **{f"reference_{due.pk}": "BANK-2"})
    assert messages_of(record) == ["Cash refund recorded for 1 order."]
    assert refund_state(due)[::5] == (RefundStatus.REFUNDED, "BANK-2")
    # A late success from the gateway for the last attempt changes nothing: the refund is made.
    late = refund_body(due)
    assert post_refund(late, signed(late)).content == b"already processed"


def test_a_refund_that_was_made_is_never_marked_failed_afterwards(due):
    ok = refund_body(due)
    post_refund(ok, signed(ok))
    after = refund_state(due)
    failed = refund_body(due, status="failed", reason="late failure")
    assert post_refund(failed, signed(failed)).content == b"already processed"
    assert refund_state(due) == after


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body: (body, None), id="no-signature"),
        pytest.param(lambda body: (body, "0" * 64), id="wrong-signature"),
        pytest.param(lambda body: (body, signed(body, "not-our-secret")), id="other-secret"),
        pytest.param(lambda body: (body.replace(b'"12.50"', b'"0.01"'), signed(body)), id="tampered-amount"),
        pytest.param(lambda body: (body.replace(b'"refunded"', b'"failed"'), signed(body)), id="tampered-status"),
    ],
)
def test_a_forged_refund_notification_is_refused_and_writes_nothing(forge, due, nothing_written, caplog):
    before = refunds_table()
    with nothing_written(), caplog.at_level(logging.WARNING, logger="catalog.payment_views"):
        response = post_refund(*forge(refund_body(due)))
    assert (response.status_code, response.content) == (400, b"Invalid notification: missing or wrong signature.")
    assert "sandbox refund callback refused (bad_signature)" in caplog.text
    assert refunds_table() == before


@pytest.mark.parametrize(("age", "accepted"), [(600, True), (601, False), (-601, False)])
def test_a_stale_refund_notification_is_refused(age, accepted, due):
    before = refunds_table()
    body = refund_body(due, timestamp=int(time.time()) - age)
    response = post_refund(body, signed(body))
    if accepted:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.content == b"Invalid notification: its timestamp is more than 600 seconds away from ours."
    assert refunds_table() == before


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": "12.49"}, "is 12.50, not 12.49"),
        ({"payment_reference": "SBX-0-0000000000000000"}, "is not for payment SBX-0-0000000000000000"),
        ({"order_id": 999_999}, "of order 999999"),
        ({"reference": "RF-0-000000000000"}, "no refund RF-0-000000000000"),
        ({"attempt": 2}, "attempt 2 of refund"),
        ({"status": "pending"}, "unsupported status 'pending'"),
    ],
)
def test_a_signed_refund_notification_that_does_not_match_is_refused(changes, reason, due, nothing_written):
    before = refunds_table()
    body = refund_body(due, **changes)
    with nothing_written():
        response = post_refund(body, signed(body))
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert refunds_table() == before


def test_a_payment_notification_is_no_refund_notification_and_back(due):
    before = refunds_table()
    order = due.order
    payment = SandboxBackend.gateway_notification(
        reference=order.payment_reference, order_id=order.pk, amount=order.cash_total
    )
    response = post_refund(payment, signed(payment))
    assert response.status_code == 400
    assert response.content.startswith(b"Invalid notification: expected exactly the fields")
    refund = refund_body(due)
    as_payment = Client().post(
        PAYMENT_CALLBACK, data=refund, content_type="application/json", headers={SIGNATURE_HEADER: signed(refund)}
    )
    assert as_payment.status_code == 400
    assert refunds_table() == before


def test_the_refund_callback_needs_no_csrf_token_and_only_accepts_post(due):
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(REFUND_CALLBACK).status_code == 405
    body = refund_body(due)
    assert post_refund(body, signed(body), client=strict).status_code == 200


# --- The mall asking the gateway ----------------------------------------------------------


def test_asking_the_gateway_twice_refunds_once(due, network, eager_jobs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert payment_jobs.cash_refund_request.apply(args=[due.pk]).get() == "requested"
    after = refund_state(due)
    assert after[0] == RefundStatus.REFUNDED
    assert payment_jobs.cash_refund_request.apply(args=[due.pk]).get() == "settled"
    # The gateway's confirmation delivered twice (its worker retried): acknowledged, nothing changes.
    assert (
        payment_jobs.sandbox_gateway_refund_deliver.apply(args=[due.reference, 1, due.notify_url]).get() == "delivered"
    )
    assert refund_state(due) == after


def test_a_refund_the_gateway_refuses_is_marked_failed(due, eager_jobs):
    Order.objects.filter(pk=due.order_id).update(payment_reference="SBX-elsewhere")
    assert payment_jobs.cash_refund_request.apply(args=[due.pk]).get() == "refused"
    status, attempt, _refunded, retry_at, failure, _ref = refund_state(due)
    assert (status, attempt, retry_at) == (RefundStatus.FAILED, 1, T0 + timedelta(minutes=10))
    assert failure == f"The gateway refused the refund: no payment with reference {due.payment_reference}"


def test_a_gateway_that_fails_the_refund_through_its_own_notification(
    due, network, eager_jobs, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(SandboxBackend, "gateway_refund_outcome", staticmethod(lambda refund: ("failed", "bank down")))
    with django_capture_on_commit_callbacks(execute=True):
        assert payment_jobs.cash_refund_request.apply(args=[due.pk]).get() == "requested"
    assert refund_state(due)[::4] == (RefundStatus.FAILED, "bank down")


def test_an_unanswered_request_is_asked_again_after_half_an_hour(due, asked, clock, django_capture_on_commit_callbacks):
    asked.clear()
    assert services.cash_refunds_retry_due(now=T0 + timedelta(minutes=29)) == 0
    with django_capture_on_commit_callbacks(execute=True):  # the sweep asks through after_commit
        assert services.cash_refunds_retry_due(now=T0 + timedelta(minutes=30)) == 1
    assert asked == [due.pk]
    assert refund_state(due)[:2] == (RefundStatus.DUE, 1)


def test_an_offline_refund_is_never_asked_of_a_gateway(paid, buyer, asked):
    order = paid(backend="offline")
    services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    refund = CashRefund.objects.get()
    assert payment_jobs.cash_refund_request.apply(args=[refund.pk]).get() == "by_operator"
    assert services.cash_refunds_retry_due(now=T0 + timedelta(days=2)) == 0
    with pytest.raises(RefundNotRetryableError):
        services.cash_refund_retry(refund_id=refund.pk)
    with pytest.raises(RefundReferenceRequiredError):
        services.cash_refund_record(refund_id=refund.pk, actor_id=buyer.pk, reference="  ")
    assert refund_state(refund)[0] == RefundStatus.DUE


# --- Late payments: money that arrives for an order already cancelled -------------------------


def test_a_late_sandbox_payment_opens_one_refund_that_the_gateway_confirms(
    place, buyer, member_client, clock, network, eager_jobs, django_capture_on_commit_callbacks
):
    order = place()
    services.payment_begin(order_id=order.pk, member_id=buyer.pk)
    order.refresh_from_db()
    clock.move_to(T0 + timedelta(minutes=16))
    assert services.orders_cancel_unpaid() == 1
    with django_capture_on_commit_callbacks(execute=True):
        pay_by_gateway(order)
        pay_by_gateway(order)  # the gateway retries its notification
    refund = CashRefund.objects.get()
    assert (refund.reason, refund.amount, refund.status, refund.created_by_id) == (
        RefundReason.LATE_PAYMENT,
        CASH,
        RefundStatus.REFUNDED,
        None,
    )
    order.refresh_from_db()
    assert (order.status, order.paid_at) == (OrderStatus.CANCELLED, None)
    assert balance(buyer) == 2000
    page = member_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "Your payment of ¥12.50 arrived after this order was cancelled, so it goes back to you." in page
    assert "¥12.50 was refunded to your original payment method on 2025-06-01 10:16." in page


def test_an_operator_records_an_offline_payment_that_arrived_after_cancellation(
    place, buyer, admin_client, settings, clock, asked
):
    settings.CATALOG_PAYMENT_BACKEND = "offline"
    order = place()
    services.payment_begin(order_id=order.pk, member_id=buyer.pk)
    order.refresh_from_db()
    clock.move_to(T0 + timedelta(minutes=16))
    services.orders_cancel_unpaid()
    refused = act(admin_client, "confirm_cash_payment", [order])
    assert messages_of(refused) == [f"Order #{order.pk}: This order can't be paid in its current state (Cancelled)."]
    assert not CashRefund.objects.exists()

    response = act(admin_client, "record_late_offline_payment", [order])
    assert messages_of(response) == ["Late payment recorded for 1 order: its cash refund is due."]
    refund = CashRefund.objects.get()
    assert (refund.reason, refund.backend, refund.payment_reference, refund.amount, refund.status) == (
        RefundReason.LATE_PAYMENT,
        PaymentBackendName.OFFLINE,
        order.payment_reference,
        CASH,
        RefundStatus.DUE,
    )
    act(admin_client, "record_late_offline_payment", [order])
    assert CashRefund.objects.count() == 1
    assert asked == []


def test_a_late_offline_payment_is_refused_for_an_order_that_is_not_cancelled(paid, admin_client):
    order = paid(backend="offline")
    response = act(admin_client, "record_late_offline_payment", [order])
    assert messages_of(response) == [f"Order #{order.pk}: This order can't be paid in its current state (Approved)."]
    assert not CashRefund.objects.exists()


def test_the_member_sees_no_refund_where_nothing_was_paid(place, buyer):
    order = place()
    cash = selectors.order_cash(member_id=buyer.pk, order_id=order.pk)
    assert (cash.amount, cash.paid_at, cash.refund, cash.refund_working_days) == (CASH, None, None, 1)
    assert selectors.order_cash(member_id=buyer.pk + 1000, order_id=order.pk) is None


# --- The payment timeout racing a late payment, on Postgres with real threads ---------------------


RACERS = 12
SWEEPS = 6  # beat may run the sweep on several workers at once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_payment_timeout_racing_the_payment_callback_leaves_every_yuan_with_an_owner(
    make_buyer, make_product, make_address, monkeypatch
):
    """Each order ends paid (the callback won) or cancelled with one refund of the late payment: never both."""
    monkeypatch.setattr(payment_jobs.cash_refund_request, "delay", lambda refund_id: None)
    product = make_product(points_price=500, cash_price=CASH, stock=RACERS)
    orders = []
    for n in range(RACERS):
        buyer = make_buyer(1000)
        order = services.order_redeem(
            user_id=buyer.pk,
            product_id=product.pk,
            quantity=1,
            idempotency_key=f"race-{n}",
            pin=PIN,
            address_id=make_address(buyer),
        )
        services.payment_begin(order_id=order.pk, member_id=buyer.pk)
        order.refresh_from_db()
        orders.append(order)
    bodies = [
        SandboxBackend.gateway_notification(
            reference=o.payment_reference,
            order_id=o.pk,
            amount=o.cash_total,
            now=(T0 + timedelta(minutes=16)).timestamp(),
        )
        for o in orders
    ]

    def sweep():
        return services.orders_cancel_unpaid()

    def callback(body: bytes):
        return (
            Client()
            .post(
                PAYMENT_CALLBACK, data=body, content_type="application/json", headers={SIGNATURE_HEADER: signed(body)}
            )
            .status_code
        )

    # Every order: the sweeps race each other and two deliveries of its payment (the gateway retries).
    calls = [sweep] * SWEEPS + [lambda b=b: callback(b) for b in bodies] * 2
    connected = threading.Barrier(len(calls))

    def connect_then_wait():
        connection.ensure_connection()
        connected.wait(timeout=60)

    def run(call):
        try:
            return call()
        except Exception as error:  # pragma: no cover - shown in the assertion below
            return error

    with (
        time_machine.travel(T0 + timedelta(minutes=16), tick=False),
        ThreadPoolExecutor(max_workers=len(calls), initializer=connect_then_wait) as pool,
    ):
        results = list(pool.map(run, calls))
        closing = threading.Barrier(len(calls))

        def close(_index):
            closing.wait(timeout=60)
            connection.close()

        list(pool.map(close, range(len(calls))))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(set(results[SWEEPS:])) == [200]
    assert sum(results[:SWEEPS]) == sum(1 for o in orders if Order.objects.get(pk=o.pk).status == OrderStatus.CANCELLED)
    for order in orders:
        order.refresh_from_db()
        refunds = list(CashRefund.objects.filter(order=order).values_list("reason", "amount", "status"))
        points = points_selectors.spendable_balance(user_id=order.member_id)
        if order.status == OrderStatus.CANCELLED:
            assert (order.paid_at, refunds, points) == (
                None,
                [(RefundReason.LATE_PAYMENT, CASH, RefundStatus.DUE)],
                1000,
            )
        else:
            assert order.status == OrderStatus.APPROVED
            assert (order.paid_at is not None, refunds, points) == (True, [], 500)
    assert points_services.points_verify().ok
