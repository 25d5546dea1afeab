"""The Python client of docs/examples/host_client.py, loaded by path and run against a live mall
over real HTTP (every endpoint, a login link, webhook verification through a real delivery); and
the worked signing examples of docs/integration.md, recomputed."""

from __future__ import annotations

import importlib.util
import json
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
from django.contrib.auth import get_user_model

from points.models import Account, Entry, Hold
from pointsmall.integration import jobs, services, signing, webhooks
from pointsmall.integration.enums import WebhookDeliveryStatus, WebhookEventType
from pointsmall.integration.models import HostMember, WebhookDelivery
from tests.integration.host import make_host
from tests.integration.webhook_helpers import endpoint, http_receiver

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")

DOC_SECRET = "docs-example-secret-do-not-use-0123456789"
DOC_NEW_SECRET = "docs-example-new-secret-do-not-use-987654"
# The clock of the docs' real examples: 1 January 2026, 10:00 Beijing time.
T0 = datetime(2026, 1, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def _load_example():
    spec = importlib.util.spec_from_file_location("host_client", ROOT / "docs" / "examples" / "host_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


host_client = _load_example()


def test_the_worked_request_example_is_what_the_mall_computes():
    body = b'{"external_order_id":"SO-1001","member":"u-42","amount":"128.00"}'
    text = signing.request_string(
        method="POST", path="/api/v1/purchases", timestamp="1767225600", nonce="4f1c9a7e2b6d8035c1e7a9b4", body=body
    )
    assert DOC_SECRET in DOC
    assert body.decode() in DOC
    assert signing.body_hash(body) == "8f2b156042e9540f26266092577af636524f71a05162b4d537758fc450643eea"
    assert f"```\n{text}\n```" in DOC
    signature = signing.sign(DOC_SECRET, text)
    assert signature == "329409a4e6bd084494de09fd38d336c132c60b20514ae5d978145aa84f4bf93f"
    assert f"```\n{signature}\n```" in DOC
    # The example client signs the same way.
    headers = host_client.sign_headers(
        key_id="mk_0123456789abcdef",
        secret=DOC_SECRET,
        method="POST",
        path="/api/v1/purchases",
        body=body,
        timestamp=1767225600,
        nonce="4f1c9a7e2b6d8035c1e7a9b4",
    )
    assert headers["X-Mall-Signature"] == signature


@pytest.mark.parametrize(
    "params",
    [
        {"uid": "u-42", "redirect": "/mall/?tag=tea&page=2"},
        {"uid": "李雷", "redirect": "/p&ts=1&uid=victim=1 ~._-%"},
    ],
)
def test_the_example_client_signs_links_exactly_as_the_mall(params):
    # Percent-encoded names and values (RFC 3986 unreserved kept): the same text on both sides.
    assert host_client.link_string(params) == signing.link_string(params)
    assert "&" not in host_client.link_string({"redirect": params["redirect"]})


def test_the_worked_link_and_webhook_examples_are_what_the_mall_computes():
    params = {
        "key": "mk_0123456789abcdef",
        "uid": "u-42",
        "ts": "1767225600",
        "nonce": "9d2e7b1c4a6f8e30b5c7d1a2",
        "redirect": "/mall/",
    }
    text = signing.link_string(params)
    sign = signing.sign(DOC_SECRET, text)
    assert f"string to sign: {text}\n" in DOC
    assert f"sign:           {sign}\n" in DOC
    link = host_client.login_link(
        "",
        key_id=params["key"],
        secret=DOC_SECRET,
        uid="u-42",
        redirect="/mall/",
        timestamp=1767225600,
        nonce=params["nonce"],
    )
    assert f"link:           {link}\n" in DOC
    body = (
        b'{"id":"7b0c8c52-93a0-4a55-9a39-2f4f3b1d6e11","type":"points.earned",'
        b'"created_at":"2026-01-01T08:00:00+08:00","data":{"member":"u-42","points":128}}'
    )
    header = signing.webhook_header(secrets=[DOC_SECRET], timestamp="1767225600", body=body)
    assert f"X-Mall-Signature: {header}\n\n{body.decode()}\n" in DOC
    assert host_client.verify_webhook(secret=DOC_SECRET, header=header, body=body, now=1767225600)["id"] == (
        "7b0c8c52-93a0-4a55-9a39-2f4f3b1d6e11"
    )
    # The rotation example: one v1 per live secret, the old one first as the doc prints it; either verifies.
    rotating = signing.webhook_header(secrets=[DOC_SECRET, DOC_NEW_SECRET], timestamp="1767225600", body=body)
    assert f"X-Mall-Signature: {rotating}\n" in DOC
    for secret in (DOC_SECRET, DOC_NEW_SECRET):
        assert host_client.verify_webhook(secret=secret, header=rotating, body=body, now=1767225600)["type"] == (
            "points.earned"
        )


def test_the_guide_is_one_page():
    # The webhook guide was folded into integration.md: nothing links to the old page.
    assert not (ROOT / "docs" / "integration-webhooks.md").exists()
    assert "integration-webhooks" not in DOC
    for heading in ("## Webhooks", "### Verifying a delivery", "### Delivery and retries", "## Python client"):
        assert heading in DOC


@pytest.fixture
def shop(transactional_db):
    return make_host()


def refused(call, *args, **kwargs) -> tuple[int, str]:
    """The (status, code) of a call the mall must refuse."""
    with pytest.raises(host_client.MallError) as error:
        call(*args, **kwargs)
    return error.value.status, error.value.code


ITEMS = [
    {"sku": "TEA-01", "category": "tea", "amount": "100.00"},
    {"sku": "CUP-02", "category": "cups", "amount": "28.00"},
]


def test_the_example_client_runs_every_endpoint_of_the_guide(live_server, shop, settings, monkeypatch):
    """The flows of docs/integration.md "Endpoints", in its order, with the answers it prints."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    # Deliveries are sent by hand below (no Celery broker in this test).
    monkeypatch.setattr(jobs.webhook_send, "delay", lambda delivery_id: None)
    hook = endpoint(shop, url="https://hooks.example.com/mall")
    mall = host_client.MallClient(live_server.url, key_id=shop.key_id, secret=shop.secret)

    with time_machine.travel(T0, tick=False) as clock:
        assert mall.ping() == {"ok": True, "client": "Shop", "key_id": shop.key_id}

        # --- members ---
        created = mall.put_member(
            "u-42",
            email="li.lei@example.com",
            email_verified=True,
            phone="138 0013 8000",
            phone_verified=True,
            display_name="李雷",
            language="zh-hans",
        )
        assert mall.last_response.status_code == 201
        assert created == {
            "external_id": "u-42",
            "created": True,
            "email": "li.lei@example.com",
            "phone": "13800138000",
            "display_name": "李雷",
            "language": "zh-hans",
        }
        assert mall.put_member("u-42", display_name="Li Lei") == {**created, "created": False, "display_name": "Li Lei"}
        assert mall.last_response.status_code == 200
        assert mall.put_member("u-43") == {
            "external_id": "u-43",
            "created": True,
            "email": None,
            "phone": None,
            "display_name": None,
            "language": None,
        }
        assert refused(mall.put_member, "u-44", email="li.lei@") == (422, "invalid_email")
        assert refused(mall.put_member, "bad id!") == (422, "invalid_request")
        assert HostMember.objects.filter(client_id=shop.client_id).count() == 2

        # --- purchases ---
        purchase = {
            "external_order_id": "SO-1001",
            "member": "u-42",
            "amount": "128.00",
            "points": 128,
            "bonus": 50,
            "status": "pending",
            "available_at": "2026-01-08T09:30:00+08:00",
        }
        report = {"member": "u-42", "amount": "128.00", "items": ITEMS, "purchased_at": "2026-01-01T09:30:00+08:00"}
        assert mall.report_purchase("SO-1001", **report) == purchase
        assert mall.last_response.status_code == 201
        assert "Idempotent-Replayed" not in mall.last_response.headers
        # A retry: the first answer again, nothing more written.
        entries_before = Entry.objects.count()
        assert mall.report_purchase("SO-1001", **report) == purchase
        assert (mall.last_response.status_code, mall.last_response.headers["Idempotent-Replayed"]) == (201, "true")
        assert Entry.objects.count() == entries_before
        assert refused(mall.report_purchase, "SO-1001", **{**report, "amount": "129.00"}) == (
            409,
            "idempotency_conflict",
        )
        assert mall.report_purchase(
            "SO-0900", member="u-42", amount="1000.00", purchased_at="2025-12-01T12:00:00+08:00"
        ) == {
            "external_order_id": "SO-0900",
            "member": "u-42",
            "amount": "1000.00",
            "points": 1000,
            "bonus": 0,
            "status": "available",
            "available_at": "2025-12-08T12:00:00+08:00",
        }
        assert refused(
            mall.report_purchase, "SO-0001", member="u-42", amount="10.00", purchased_at="2025-09-01T12:00:00+08:00"
        ) == (422, "purchase_too_old")
        # A future purchased_at counts as now (the silver tier reached above earns 1.1 points a yuan).
        assert mall.report_purchase(
            "SO-0002", member="u-42", amount="10.00", purchased_at="2026-03-01T12:00:00+08:00"
        ) == {
            "external_order_id": "SO-0002",
            "member": "u-42",
            "amount": "10.00",
            "points": 11,
            "bonus": 0,
            "status": "pending",
            "available_at": "2026-01-08T10:00:00+08:00",
        }
        assert refused(
            mall.report_purchase, "SO-0003", member="u-42", amount="10.00", items=[{"sku": "A", "amount": "9.00"}]
        ) == (422, "items_do_not_add_up")
        assert refused(mall.report_purchase, "SO-0004", member="u-42", amount=128) == (422, "invalid_request")
        assert refused(mall.report_purchase, "SO-0005", member="nobody", amount="5") == (404, "member_not_found")

        # --- refunds: by amount, by items, the rest; each refusal writes nothing ---
        assert mall.refund("SO-1001", refund_id="RF-1", amount="20.00") == {
            "external_order_id": "SO-1001",
            "refund_id": "RF-1",
            "amount": "20.00",
            "points_taken_back": 20,
            "total_refunded": "20.00",
            "total_points_taken_back": 20,
        }
        assert mall.refund("SO-1001", refund_id="RF-2", items=[{"sku": "CUP-02", "amount": "28.00"}]) == {
            "external_order_id": "SO-1001",
            "refund_id": "RF-2",
            "amount": "28.00",
            "points_taken_back": 28,
            "total_refunded": "48.00",
            "total_points_taken_back": 48,
        }
        entries_before = Entry.objects.count()
        assert refused(mall.refund, "SO-1001", refund_id="RF-3", items=[{"sku": "NOPE", "amount": "1.00"}]) == (
            422,
            "unknown_item",
        )
        assert refused(mall.refund, "SO-1001", refund_id="RF-4", items=[{"sku": "CUP-02", "amount": "1.00"}]) == (
            422,
            "refund_exceeds_item",
        )
        assert refused(mall.refund, "SO-1001", refund_id="RF-5", amount="500.00") == (422, "refund_exceeds_purchase")
        assert Entry.objects.count() == entries_before
        assert mall.refund("SO-1001", refund_id="RF-6") == {
            "external_order_id": "SO-1001",
            "refund_id": "RF-6",
            "amount": "80.00",
            "points_taken_back": 80,
            "total_refunded": "128.00",
            "total_points_taken_back": 128,
        }
        assert refused(mall.refund, "SO-1001", refund_id="RF-7") == (422, "already_fully_refunded")
        assert refused(mall.refund, "SO-9999", refund_id="RF-8") == (404, "purchase_not_found")

        # --- holds ---
        hold = mall.place_hold("u-42", host_order_id="SO-1002", points=500, expires_in_minutes=15)
        assert mall.last_response.status_code == 201
        active = {
            "id": hold["id"],
            "host_order_id": "SO-1002",
            "member": "u-42",
            "points": 500,
            "status": "active",
            "expires_at": "2026-01-01T10:15:00+08:00",
        }
        assert hold == active
        assert mall.get_hold(hold["id"]) == active
        captured = mall.capture_hold(hold["id"])
        spend = Entry.objects.get(kind="spend", reference="host.order:SO-1002")
        assert captured == {**active, "status": "captured", "entry_id": spend.pk}
        assert mall.capture_hold(hold["id"]) == captured
        assert refused(mall.release_hold, hold["id"]) == (409, "hold_not_active")
        released = mall.place_hold("u-42", host_order_id="SO-1003", points=200)
        assert mall.release_hold(released["id"]) == {**released, "status": "released"}
        late = mall.place_hold("u-42", host_order_id="SO-1004", points=100, expires_in_minutes=15)
        assert mall.balance("u-42") == {
            "member": "u-42",
            "available": 400,
            "pending": 11,
            "held": 100,
            "owed": 0,
            "expiring_soon": {"points": 0, "by": None, "within_days": 30},
            "tier": {"code": "silver", "name": "Silver"},
        }
        assert refused(mall.place_hold, "u-42", host_order_id="SO-1005", points=99999) == (422, "insufficient_points")
        assert refused(mall.get_hold, 999_999_999) == (404, "hold_not_found")

        # --- an overdue hold reads expired before any sweep ---
        clock.move_to(T0 + timedelta(minutes=16))
        expired = {**late, "status": "expired"}
        assert mall.get_hold(late["id"]) == expired
        assert Hold.objects.get(pk=late["id"]).status == "active"  # the sweep has not run
        assert mall.balance("u-42")["held"] == 0
        assert refused(mall.capture_hold, late["id"]) == (409, "hold_not_active")
        assert mall.release_hold(late["id"]) == expired
        assert mall.balance("u-42") == {
            "member": "u-42",
            "available": 500,
            "pending": 11,
            "held": 0,
            "owed": 0,
            "expiring_soon": {"points": 0, "by": None, "within_days": 30},
            "tier": {"code": "silver", "name": "Silver"},
        }

        # --- entries, page by page ---
        pages, page = [], 1
        while page is not None:
            answer = mall.entries("u-42", page=page, page_size=4)
            assert (answer["count"], answer["page"], answer["page_size"]) == (9, page, 4)
            pages.append(answer)
            page = answer["next_page"]
        assert [len(answer["results"]) for answer in pages] == [4, 4, 1]
        rows = [row for answer in pages for row in answer["results"]]
        assert [(row["kind"], row["points"], row["pending_points"], row["reference"]) for row in rows] == [
            ("spend", -500, 0, "host.order:SO-1002"),
            ("reverse", 0, -50, "shop.order:SO-1001"),
            ("reverse", 0, -80, "shop.order:SO-1001"),
            ("reverse", 0, -28, "shop.order:SO-1001"),
            ("reverse", 0, -20, "shop.order:SO-1001"),
            ("earn", 0, 11, "shop.order:SO-0002"),
            ("earn", 1000, 0, "shop.order:SO-0900"),
            ("earn", 0, 50, "shop.order:SO-1001"),
            ("earn", 0, 128, "shop.order:SO-1001"),
        ]
        assert rows[0] == {
            "id": spend.pk,
            "created_at": "2026-01-01T10:00:00+08:00",
            "kind": "spend",
            "points": -500,
            "pending_points": 0,
            "balance_after": 500,
            "description": "Paid with points at the shop, order SO-1002",
            "reference": "host.order:SO-1002",
        }
        assert [row["description"] for row in rows[1:3]] == [
            "Taken back: first purchase bonus (order SO-1001 refunded)",
            "Taken back: purchase SO-1001 was refunded",
        ]
        assert mall.entries("u-42", page=4, page_size=4)["results"] == []

        # --- a login link, followed by a browser ---
        browser = requests.Session()
        url = host_client.login_link(
            live_server.url, key_id=shop.key_id, secret=shop.secret, uid="u-42", redirect="/me/"
        )
        page = browser.get(url, timeout=10)
        assert (page.status_code, page.url) == (200, live_server.url + "/me/")
        assert [r.status_code for r in page.history] == [302]
        assert "Li Lei" in page.text
        assert "li.lei@example.com" in page.text
        # The same link again is refused: it works once.
        assert requests.get(url, timeout=10, allow_redirects=False).status_code == 401

        # --- the webhooks of these flows, verified as a host does, during a secret rotation ---
        payloads = [(row.event_type, row.payload["data"]) for row in WebhookDelivery.objects.order_by("pk")]
        assert [
            (kind, data.get("source"), data.get("pending"), data["points"])
            for kind, data in payloads
            if kind
            in (
                WebhookEventType.POINTS_EARNED,
                WebhookEventType.POINTS_SPENT,
            )
        ] == [
            ("points.earned", "purchase", True, 128),
            ("points.earned", "first_purchase", True, 50),
            ("points.earned", "purchase", False, 1000),
            ("points.earned", "purchase", True, 11),
            ("points.spent", None, None, 500),
        ]
        assert payloads[0][1] == {
            "member": "u-42",
            "entry_id": payloads[0][1]["entry_id"],
            "points": 128,
            "source": "purchase",
            "pending": True,
            "available_at": "2026-01-08T09:30:00+08:00",
            "balance_after": 0,
        }
        new_secret = services.client_secret_rotate(client_id=shop.client_id, overlap_hours=24)
        delivery = WebhookDelivery.objects.filter(event_type=WebhookEventType.POINTS_SPENT).get()
        with http_receiver(200) as receiver:
            # The operator points the endpoint at the host's receiver (a real local HTTP server).
            type(hook).objects.filter(pk=hook.pk).update(url=receiver.url)
            assert webhooks.webhook_send(delivery_id=delivery.pk) == WebhookDeliveryStatus.SENT
        hit = receiver.hits[0]
        header = hit.headers["X-Mall-Signature"]
        assert header.count("v1=") == 2
        seen: set[str] = set()
        for secret in (shop.secret, new_secret):
            event = host_client.verify_webhook(secret=secret, header=header, body=hit.body)
            assert event["type"] == "points.spent"
            assert event["data"] == {
                "member": "u-42",
                "entry_id": spend.pk,
                "points": 500,
                "reference": "host.order:SO-1002",
                "order_id": None,
                "balance_after": 500,
            }
        host_client.verify_webhook(secret=new_secret, header=header, body=hit.body, seen=seen)
        with pytest.raises(host_client.WebhookError, match="duplicate"):
            host_client.verify_webhook(secret=shop.secret, header=header, body=hit.body, seen=seen)
        with pytest.raises(host_client.WebhookError, match="bad signature"):
            host_client.verify_webhook(secret="not-the-secret", header=header, body=hit.body)

    account = Account.objects.get(user__host_links__external_id="u-42")
    assert (account.balance, account.pending, account.held) == (500, 11, 0)
    assert get_user_model().objects.get(host_links__external_id="u-42").phone == "13800138000"


def test_a_wrong_secret_raises_mall_error(live_server, shop):
    mall = host_client.MallClient(live_server.url, key_id=shop.key_id, secret="not-the-secret")
    with pytest.raises(host_client.MallError) as refused:
        mall.ping()
    assert (refused.value.status, refused.value.code) == (401, "bad_signature")


def test_the_example_verifies_a_webhook_the_mall_signed():
    secret = secrets.token_urlsafe(32)
    body = json.dumps({"id": "0b8f", "type": "points.earned", "data": {"member": "u-42", "points": 5}}).encode()
    now = int(time.time())
    header = signing.webhook_header(secrets=["old-secret", secret], timestamp=str(now), body=body)
    seen: set[str] = set()
    event = host_client.verify_webhook(secret=secret, header=header, body=body, seen=seen)
    assert event["data"] == {"member": "u-42", "points": 5}
    with pytest.raises(host_client.WebhookError, match="duplicate"):
        host_client.verify_webhook(secret=secret, header=header, body=body, seen=seen)
    with pytest.raises(host_client.WebhookError, match="bad signature"):
        host_client.verify_webhook(secret=secret, header=header, body=body + b" ")
    with pytest.raises(host_client.WebhookError, match="bad signature"):
        host_client.verify_webhook(secret="another", header=header, body=body)
    with pytest.raises(host_client.WebhookError, match="too old"):
        host_client.verify_webhook(secret=secret, header=header, body=body, now=now + 301)
    for header in ("v1=abc", "", None, "t=,v1=abc", "t=²,v1=abc", f"t={'9' * 5000},v1=abc", "t=12", "garbage"):
        with pytest.raises(host_client.WebhookError, match="malformed"):
            host_client.verify_webhook(secret=secret, header=header, body=body)
