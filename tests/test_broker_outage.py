"""Fault injection: the Celery broker is away (issue #14 item 2, docs/decisions/0038).

The broker and the result backend are a Redis of the test's own (tests/spare_redis.py), killed by
PID to make the outage; jobs are not run in-process (``task_always_eager`` off). Every member and
operator page still answers its normal success, what they did is committed, and the jobs that must
not be lost are held in the job outbox; with the broker back, a real worker and the relay deliver
each held job exactly once.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Notification
from catalog.enums import OrderStatus, RefundStatus
from catalog.models import CashRefund, Order, Product
from points import selectors as points_selectors
from pointsmall.celery import app as celery_app
from pointsmall.outbox import services as outbox
from pointsmall.outbox.models import OutboxJob
from tests.catalog.conftest import SECRET
from tests.catalog.factories import PIN, add_address, make_member, make_product
from tests.factories import StaffFactory

# A page answered with the broker away may take this long (a liveness bound, not a timing claim:
# the defaults spent ~20 s per job published, see the decision).
ANSWERED_WITHIN_SECONDS = 5.0


def _point_celery_at(url: str) -> None:
    """Send jobs to ``url`` (broker and result backend) from now on: drop the pooled connections."""
    celery_app.conf.broker_url = url
    celery_app.conf.result_backend = url
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.__dict__.get("amqp") and setattr(celery_app.amqp, "_producer_pool", None)
    celery_app._backend_cache = None
    celery_app._local.backend = None


@pytest.fixture
def broker(spare_redis, settings):
    """The Celery broker is ``spare_redis`` (``.stop()`` is the outage); jobs are queued, not run."""
    before = (celery_app.conf.broker_url, celery_app.conf.result_backend, celery_app.conf.task_always_eager)
    settings.CATALOG_PAYMENT_BACKEND = "sandbox"
    settings.SANDBOX_PAYMENT_SECRET = SECRET
    _point_celery_at(spare_redis.url)
    celery_app.conf.task_always_eager = False
    try:
        yield spare_redis
    finally:
        _point_celery_at(before[0])
        celery_app.conf.result_backend = before[1]
        celery_app.conf.task_always_eager = before[2]


def _timed(call):
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < ANSWERED_WITHIN_SECONDS, f"answered after {elapsed:.1f} s"
    return response


def _held(task: str) -> list[OutboxJob]:
    return list(OutboxJob.objects.filter(task=task, sent_at__isnull=True).order_by("pk"))


def _relay_until_sent(deadline_seconds: float = 30.0) -> None:
    """Run the relay sweep (as beat would, each minute) until nothing is held: the broker is back."""
    deadline = time.monotonic() + deadline_seconds
    while OutboxJob.objects.filter(sent_at__isnull=True).exists():
        OutboxJob.objects.update(next_attempt_at=OutboxJob._meta.get_field("created_at").default())
        outbox.jobs_relay()
        assert time.monotonic() < deadline, "the relay did not deliver the held jobs"


def _wait_for(condition, what: str, deadline_seconds: float = 30.0) -> None:
    """Poll until the worker has done ``what`` (a readiness wait, not a pause for time to pass)."""
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        assert time.monotonic() < deadline, f"the worker did not {what}"
        time.sleep(0.05)


@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_away_members_and_operators_succeed_and_held_jobs_arrive_once_it_is_back(
    broker, live_server, settings, request
):
    settings.CATALOG_PAYMENT_CALLBACK_BASE = live_server.url
    operator = StaffFactory(is_superuser=True)
    member = make_member(points=5000)
    address_id = add_address(member)
    product = make_product(points_price=300, cash_price=Decimal("12.50"), stock=4, low_stock_threshold=3)
    client = Client()
    client.force_login(member)
    broker.stop()

    # --- The broker is away: a redemption (PIN and all) through the web.
    from catalog import services

    quote = services.redemption_quote(user_id=member.pk, product_id=product.pk, quantity=1).totals
    confirmation = services.redemption_confirmation_sign(
        user_id=member.pk, product_id=product.pk, quantity=1, totals=quote
    )
    redeemed = _timed(
        lambda: client.post(
            reverse("redeem_confirm", args=[product.pk]),
            {
                "quantity": 1,
                "pin": PIN,
                "idempotency_key": "0123456789abcdef0123456789abcdef",
                "confirmation": confirmation,
                "address": address_id,
            },
        )
    )
    order = Order.objects.get()
    assert redeemed.status_code == 302
    assert redeemed["Location"] == f"{reverse('order_detail', args=[order.pk])}?placed=1"
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert Product.objects.get(pk=product.pk).stock == 3
    assert points_selectors.spendable_balance(user_id=member.pk) == 5000 - quote.points
    [alert] = _held("catalog.low_stock_notify")
    assert (alert.args, alert.attempts) == ([product.pk], 1)
    assert alert.last_error  # the relay after commit met the broker away, and said so

    # --- Still away: the member pays the cash part on the sandbox gateway.
    started = _timed(lambda: client.post(reverse("payment_start", args=[order.pk])))
    assert started.status_code == 302
    order.refresh_from_db()
    paid = _timed(lambda: client.post(f"/mall/pay/sandbox/{order.payment_reference}/pay/"))
    assert paid.status_code == 302
    assert paid.url == f"/mall/pay/{order.pk}/status/"
    [notice] = _held("catalog.sandbox_gateway_deliver")
    assert notice.args[0] == order.payment_reference
    order.refresh_from_db()
    assert order.paid_at is None  # only the gateway's notification says it was paid

    # --- The broker is back: a real worker; the relay sends each held job once.
    broker.start()
    worker = request.getfixturevalue("celery_worker")  # noqa: F841 (starts the worker)
    _relay_until_sent()
    _wait_for(lambda: Order.objects.get(pk=order.pk).paid_at is not None, "deliver the payment notification")
    _wait_for(
        lambda: Notification.objects.filter(dedupe_key__startswith=f"low-stock:{product.pk}:").exists(),
        "send the low-stock alert",
    )
    outbox.jobs_relay()  # a second sweep finds nothing to send again
    assert OutboxJob.objects.filter(sent_at__isnull=True).count() == 0
    assert OutboxJob.objects.filter(task="catalog.low_stock_notify").count() == 1
    assert Notification.objects.filter(dedupe_key__startswith=f"low-stock:{product.pk}:", user=operator).count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    assert order.events.filter(to_status=OrderStatus.APPROVED).count() == 1

    # --- Away again: the member cancels the paid order (a cash refund), an operator rejects another.
    broker.stop()
    cancelled = _timed(lambda: client.post(reverse("order_cancel", args=[order.pk])))
    assert cancelled.status_code == 302
    refund = CashRefund.objects.get(order=order)
    assert refund.status == RefundStatus.DUE
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED

    # --- Back: the refund sweep asks the gateway, whose confirmation goes through the outbox once.
    broker.start()
    CashRefund.objects.filter(pk=refund.pk).update(updated_at=refund.created_at.replace(year=2000))
    services.cash_refunds_retry_due()
    _wait_for(
        lambda: OutboxJob.objects.filter(task="catalog.sandbox_gateway_refund_deliver").exists(),
        "ask the gateway for the refund",
    )
    _relay_until_sent()
    _wait_for(lambda: CashRefund.objects.get(pk=refund.pk).status == RefundStatus.REFUNDED, "confirm the refund")
    assert OutboxJob.objects.filter(task="catalog.sandbox_gateway_refund_deliver").count() == 1


@pytest.mark.django_db
def test_a_rolled_back_transaction_leaves_no_job_and_relays_nothing(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.job_enqueue("catalog.low_stock_notify", 1)
        raise RuntimeError("the work failed")
    assert OutboxJob.objects.count() == 0
    assert callbacks == []


@pytest.mark.django_db
def test_a_job_is_relayed_once_however_often_the_relay_runs(monkeypatch, django_capture_on_commit_callbacks):
    published: list[tuple[str, list]] = []
    monkeypatch.setattr(outbox, "_publish", lambda claim: published.append((claim.task, claim.args)))
    with django_capture_on_commit_callbacks(execute=True):
        job_id = outbox.job_enqueue("catalog.low_stock_notify", 7)
    assert outbox.jobs_relay() == {"sent": 0, "held": 0}  # already sent right after commit
    assert published == [("catalog.low_stock_notify", [7])]
    assert OutboxJob.objects.get(pk=job_id).sent_at is not None
