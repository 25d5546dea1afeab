"""The Python client of docs/examples/host_client.py, loaded by path and run against a live mall
over real HTTP; and the worked signing examples of docs/integration.md, recomputed."""

from __future__ import annotations

import importlib.util
import json
import secrets
import time
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model

from pointsmall.integration import signing
from pointsmall.integration.models import HostMember
from tests.integration.host import make_host

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")

DOC_SECRET = "docs-example-secret-do-not-use-0123456789"


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


@pytest.fixture
def shop(transactional_db):
    return make_host()


def test_the_example_client_pings_creates_a_member_and_logs_them_in(live_server, shop):
    mall = host_client.MallClient(live_server.url, key_id=shop.key_id, secret=shop.secret)
    assert mall.ping() == {"ok": True, "client": "Shop", "key_id": shop.key_id}

    created = mall.put_member("u-42", display_name="Li Lei", language="en", phone="138 0013 8000")
    assert mall.last_response.status_code == 201
    assert created == {
        "external_id": "u-42",
        "created": True,
        "email": None,
        "phone": "13800138000",
        "display_name": "Li Lei",
        "language": "en",
    }
    updated = mall.put_member("u-42", email="li.lei@example.com", email_verified=True)
    assert mall.last_response.status_code == 200
    assert updated["email"] == "li.lei@example.com"
    with pytest.raises(host_client.MallError) as refused:
        mall.put_member("bad id!")
    assert (refused.value.status, refused.value.code) == (422, "invalid_request")

    browser = requests.Session()
    url = host_client.login_link(live_server.url, key_id=shop.key_id, secret=shop.secret, uid="u-42", redirect="/me/")
    page = browser.get(url, timeout=10)
    assert page.status_code == 200
    assert page.url == live_server.url + "/me/"
    assert [r.status_code for r in page.history] == [302]
    assert "Li Lei" in page.text
    assert "li.lei@example.com" in page.text
    # The same link again is refused: it works once.
    again = requests.get(url, timeout=10, allow_redirects=False)
    assert again.status_code == 401
    member = get_user_model().objects.get(host_links__external_id="u-42")
    assert HostMember.objects.filter(client_id=shop.client_id).count() == 1
    assert member.phone == "13800138000"


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
    with pytest.raises(host_client.WebhookError, match="malformed"):
        host_client.verify_webhook(secret=secret, header="v1=abc", body=body)
