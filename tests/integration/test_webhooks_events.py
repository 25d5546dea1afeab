"""Webhook events: the outbox rows each event writes, in the event's own transaction, for exactly
the endpoints that asked for it, with the data a host needs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from catalog import services as catalog_services
from catalog.enums import ProductKind
from lottery.models import PrizeKind
from points import services as points_services
from pointsmall.integration import jobs, webhooks
from pointsmall.integration.enums import WebhookDeliveryStatus, WebhookEventType
from pointsmall.integration.models import WebhookDelivery
from tests.catalog.factories import PIN, add_address, add_codes, make_member, make_product
from tests.factories import MemberFactory, StaffFactory
from tests.integration.webhook_helpers import bodies, endpoint, host_with_member, link
from tests.lottery.core_helpers import T0 as LOTTERY_T0
from tests.lottery.core_helpers import draw, make_campaign, member_with

pytestmark = pytest.mark.django_db

E = WebhookEventType
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def queued(monkeypatch):
    """The delivery ids handed to Celery after commit (instead of a broker)."""
    sent: list[int] = []
    monkeypatch.setattr(jobs.webhook_send, "delay", sent.append)
    return sent


def earn(user, amount: int, key: str, **kwargs):
    return points_services.points_earn(user_id=user.pk, amount=amount, idempotency_key=key, **kwargs)


# --- the outbox ---------------------------------------------------------------------------------


def test_an_event_writes_one_row_per_subscribed_endpoint_with_one_event_id(
    member, queued, django_capture_on_commit_callbacks
):
    host, first = host_with_member(member, "shop-7")
    second = endpoint(host, url="https://other.example.com/in", events=[E.POINTS_EARNED])
    endpoint(host, url="https://spent-only.example.com/in", events=[E.POINTS_SPENT])
    endpoint(host, url="https://off.example.com/in", enabled=False)
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        earn(member, 40, "e1")
    rows = list(WebhookDelivery.objects.order_by("pk"))
    assert [(row.endpoint_id, row.event_type, row.status, row.attempts) for row in rows] == [
        (first.pk, E.POINTS_EARNED, WebhookDeliveryStatus.PENDING, 0),
        (second.pk, E.POINTS_EARNED, WebhookDeliveryStatus.PENDING, 0),
    ]
    assert rows[0].event_id == rows[1].event_id
    assert rows[0].payload == rows[1].payload
    assert rows[0].payload["id"] == str(rows[0].event_id)
    assert rows[0].payload["type"] == "points.earned"
    assert rows[0].payload["created_at"] == "2026-03-02T10:00:00+08:00"  # business time, like the API
    assert rows[0].payload["data"]["member"] == "shop-7"
    assert (rows[0].next_attempt_at, rows[0].created_at) == (T0, T0)
    # Sent after commit, one task per row.
    assert queued == [rows[0].pk, rows[1].pk]


def test_each_client_hears_about_its_own_members_under_its_own_id(member, other_member, queued):
    _shop, shop_endpoint = host_with_member(member, "shop-1")
    _app, app_endpoint = host_with_member(member, "app-9")
    _stranger, _stranger_endpoint = host_with_member(other_member, "x-1")
    earn(member, 10, "e1")
    rows = {row.endpoint_id: row.payload["data"]["member"] for row in WebhookDelivery.objects.all()}
    assert rows == {shop_endpoint.pk: "shop-1", app_endpoint.pk: "app-9"}


def test_a_member_no_client_knows_writes_nothing(member, queued, django_capture_on_commit_callbacks):
    host_with_member(MemberFactory(), "someone-else")
    with django_capture_on_commit_callbacks(execute=True):
        earn(member, 10, "e1")
    assert not WebhookDelivery.objects.exists()
    assert queued == []
    assert webhooks.webhook_event_record(user_id=member.pk, event_type=E.POINTS_EARNED, data={}) == []


def test_a_disabled_client_gets_nothing(member, queued):
    host, _endpoint = host_with_member(member)
    type(_endpoint.client).objects.filter(pk=host.client_id).update(enabled=False)
    earn(member, 10, "e1")
    assert not WebhookDelivery.objects.exists()


def test_an_event_that_rolls_back_leaves_no_delivery_and_sends_nothing(
    member, queued, django_capture_on_commit_callbacks
):
    host_with_member(member)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        earn(member, 40, "e1")
        assert WebhookDelivery.objects.count() == 1  # written inside the event's transaction
        raise RuntimeError("the request failed after the points were credited")
    assert not WebhookDelivery.objects.exists()
    assert callbacks == []
    assert queued == []


def test_a_broker_that_refuses_the_task_does_not_fail_the_event(
    member, monkeypatch, django_capture_on_commit_callbacks
):
    host_with_member(member)

    def broker_down(delivery_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(jobs.webhook_send, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        receipt = earn(member, 40, "e1")
    assert receipt.balance == 40
    # The row stays due: the sweep sends it.
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts) == (WebhookDeliveryStatus.PENDING, 0)


# --- each event's data ----------------------------------------------------------------------------


def test_points_earned_and_spent(member, queued):
    host_with_member(member, "u-1")
    earned = earn(member, 300, "e1", source="purchase", available_at=None)
    spent = points_services.points_spend(
        user_id=member.pk, amount=120, idempotency_key="s1", reference="catalog.order:77"
    )
    again = points_services.points_spend(user_id=member.pk, amount=30, idempotency_key="s2", reference="x:1")
    [earn_body] = bodies(E.POINTS_EARNED)
    assert earn_body["data"] == {
        "entry_id": earned.entry_id,
        "points": 300,
        "source": "purchase",
        "pending": False,
        "available_at": earn_body["data"]["available_at"],
        "balance_after": 300,
        "member": "u-1",
    }
    # Every spend is announced, not only the first.
    assert [body["data"] for body in bodies(E.POINTS_SPENT)] == [
        {"entry_id": spent.entry_id, "points": 120, "reference": "catalog.order:77", "order_id": 77,
         "balance_after": 180, "member": "u-1"},
        {"entry_id": again.entry_id, "points": 30, "reference": "x:1", "order_id": None,
         "balance_after": 150, "member": "u-1"},
    ]  # fmt: skip


def test_a_replayed_spend_announces_nothing_again(member, queued):
    host_with_member(member)
    earn(member, 100, "e1")
    points_services.points_spend(user_id=member.pk, amount=10, idempotency_key="s1")
    points_services.points_spend(user_id=member.pk, amount=10, idempotency_key="s1")
    assert len(bodies(E.POINTS_SPENT)) == 1


def test_tier_change(member, queued):
    host_with_member(member, "u-1")
    earn(member, 1000, "e1")
    assert [body["data"] for body in bodies(E.TIER_CHANGED)] == [
        {"old_tier": "regular", "tier": "silver", "change": "upgrade", "member": "u-1"}
    ]


def test_points_expiring_from_the_reminder_job(member, queued):
    host_with_member(member, "u-1")
    with time_machine.travel(T0, tick=False):
        earn(member, 100, "e1", expires_at=T0 + timedelta(days=10))
        earn(member, 40, "e2", expires_at=T0 + timedelta(days=12))
        assert points_services.points_remind(days=30) == 1
        assert points_services.points_remind(days=30) == 0  # reminded once
    [body] = bodies(E.POINTS_EXPIRING)
    data = body["data"]
    assert data == {
        "points": 140,
        # Spendable up to the end of that day in Shanghai (the lots expire at 10:00 there).
        "expires_on": "2026-03-12",
        "dates": [{"date": "2026-03-12", "points": 100}, {"date": "2026-03-14", "points": 40}],
        "reminder_id": data["reminder_id"],
        "member": "u-1",
    }


def test_order_created_and_status_changes_through_the_catalog(queued):
    buyer = make_member(points=900)
    host_with_member(buyer, "b-1")
    operator = StaffFactory()
    product = make_product(points_price=400)
    order = catalog_services.order_redeem(
        user_id=buyer.pk, product_id=product.pk, quantity=2, idempotency_key="r1", pin=PIN,
        address_id=add_address(buyer),
    )  # fmt: skip
    catalog_services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF", tracking_number="SF100")
    [created] = bodies(E.ORDER_CREATED)
    assert created["data"] == {
        "order_id": order.pk,
        "source": "redemption",
        "status": "approved",
        "product_id": product.pk,
        # Names: always the Chinese one, the English one beside it when set (receivers.py).
        "product_name": {"zh-hans": product.name_zh, "en": product.name_en},
        "product_kind": "physical",
        "quantity": 2,
        "points": 800,
        "cash": "0.00",
        "member": "b-1",
    }
    assert [body["data"] for body in bodies(E.ORDER_STATUS_CHANGED)] == [
        {"order_id": order.pk, "old_status": "approved", "status": "shipped", "action": "ship",
         "product_name": {"zh-hans": product.name_zh, "en": product.name_en}, "member": "b-1"},
    ]  # fmt: skip
    [spent] = bodies(E.POINTS_SPENT)
    assert (spent["data"]["order_id"], spent["data"]["points"]) == (order.pk, 800)


def test_a_points_and_cash_order_is_created_and_its_cancellation_announced(queued):
    buyer = make_member(points=900)
    host_with_member(buyer, "b-1")
    product = make_product(points_price=300, cash_price=Decimal("12.50"), kind=ProductKind.COUPON)
    add_codes(product, 2)
    order = catalog_services.order_redeem(
        user_id=buyer.pk, product_id=product.pk, quantity=1, idempotency_key="r1", pin=PIN
    )
    catalog_services.order_cancel(order_id=order.pk, member_id=buyer.pk)
    [created] = bodies(E.ORDER_CREATED)
    assert (created["data"]["status"], created["data"]["points"], created["data"]["cash"]) == (
        "awaiting_payment", 300, "12.50",
    )  # fmt: skip
    # A code item's code is never in a webhook.
    assert "CODE-" not in str(created)
    assert [
        (b["data"]["old_status"], b["data"]["status"], b["data"]["action"]) for b in bodies(E.ORDER_STATUS_CHANGED)
    ] == [("awaiting_payment", "cancelled", "cancel")]


def test_a_lottery_prize_order_is_an_order_created(queued):
    winner = make_member()
    host_with_member(winner, "w-1")
    product = make_product(kind=ProductKind.COUPON, points_price=100)
    codes = add_codes(product, 1)
    order_id = catalog_services.prize_order_place(
        member_id=winner.pk, product_id=product.pk, reference="lottery.draw:5"
    )
    [created] = bodies(E.ORDER_CREATED)
    assert created["data"] == {
        "order_id": order_id,
        "source": "lottery_prize",
        "status": "completed",
        "product_id": product.pk,
        "product_name": {"zh-hans": product.name_zh, "en": product.name_en},
        "product_kind": "coupon",
        "quantity": 1,
        "points": 0,
        "cash": "0.00",
        "member": "w-1",
    }
    assert codes[0] not in str(created)


def test_a_lottery_win(monkeypatch, queued):
    from lottery import rules

    monkeypatch.setattr(rules, "draw_number", lambda **kwargs: 500)  # lands on the 100-point prize
    campaign = make_campaign()
    winner = member_with(1000)
    host_with_member(winner, "w-1")
    with time_machine.travel(LOTTERY_T0, tick=False):
        result = draw(winner, campaign)
    top = campaign.prizes.get(position=0)
    [won] = bodies(E.LOTTERY_WON)
    assert won["data"] == {
        "draw_id": result.draw_id,
        # Names: always the Chinese one, the English one beside it when set (receivers.py).
        "campaign": {"id": campaign.pk, "name": {"zh-hans": "幸运转盘", "en": "Lucky wheel"}},
        "prize": {
            "id": top.pk,
            "name": {"zh-hans": "一百积分", "en": "100 points"},
            "kind": PrizeKind.POINTS.value,
            "points": 100,
        },
        "order_id": None,
        "member": "w-1",
    }
    # The draw's spend and the prize's points are events of their own.
    assert [b["data"]["points"] for b in bodies(E.POINTS_SPENT)] == [10]
    assert [b["data"]["points"] for b in bodies(E.POINTS_EARNED)] == [100]


def test_a_draw_without_a_prize_announces_no_win(monkeypatch, queued):
    from lottery import rules

    monkeypatch.setattr(rules, "draw_number", lambda **kwargs: 9000)  # "no prize"
    campaign = make_campaign()
    member = member_with(1000)
    host_with_member(member, "w-1")
    with time_machine.travel(LOTTERY_T0, tick=False):
        draw(member, campaign)
    assert bodies(E.LOTTERY_WON) == []


def test_event_ids_differ_between_events(member, queued):
    host, _endpoint = host_with_member(member)
    link(host, MemberFactory(), "someone")
    earn(member, 10, "e1")
    earn(member, 10, "e2")
    ids = [uuid.UUID(body["id"]) for body in bodies(E.POINTS_EARNED)]
    assert len(set(ids)) == 2
