"""What an attacker sends that is not a well-formed request: every answer under /api/v1/ is JSON
``{"code", "message"}`` with a stable code (never a 500, never an HTML page), and nothing is written."""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client as DjangoClient

from pointsmall.integration import services, signing
from pointsmall.integration.exceptions import StaleTimestampError
from pointsmall.integration.models import HostMember, IdempotencyRecord, UsedNonce

pytestmark = pytest.mark.django_db


def _json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def _nothing_written() -> None:
    assert not UsedNonce.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    assert not HostMember.objects.exists()


# --- 1. Non-ASCII signatures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "é" * 64,  # latin-1 header text: compare_digest raised TypeError (a 500)
        "é" + "0" * 63,
        "ａ" * 64,  # full-width letters
        "0" * 63,  # too short
        "0" * 65,
        "g" * 64,  # not hex
        "0" * 62 + "\n0",
    ],
)
def test_a_malformed_signature_is_401_bad_signature(host, signature):
    headers = host.headers("GET", "/api/v1/ping", b"")
    headers["X-Mall-Signature"] = signature
    response = host.http.get("/api/v1/ping", headers=headers)
    _json_error(response, 401, "bad_signature")
    _nothing_written()


def test_an_uppercase_hex_signature_still_matches(host):
    headers = host.headers("GET", "/api/v1/ping", b"")
    headers["X-Mall-Signature"] = headers["X-Mall-Signature"].upper()
    assert host.http.get("/api/v1/ping", headers=headers).status_code == 200


@pytest.mark.parametrize("signature", ["é" * 64, "\udcff" * 64, "", "💥"])
def test_signing_matches_never_raises(signature):
    assert signing.matches(["secret"], "message", signature) is False


def test_a_login_link_with_a_non_ascii_sign_is_the_link_not_valid_page(host):
    query = {"key": host.key_id, "uid": "u1", "ts": str(int(time.time())), "nonce": secrets.token_hex(16)}
    browser = DjangoClient()
    response = browser.get("/sso/login?" + urlencode(query) + "&sign=" + quote("é" * 64))
    assert response.status_code == 401
    assert "This login link is not valid." in response.content.decode()
    assert SESSION_KEY not in browser.session
    _nothing_written()


# --- 3. Timestamps: ASCII digits only ---------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["{0:_}", " {0}", "{0} ", "+{0}", "0{0}", "{0}.0", "١٧٦٧٢٢٥٦٠٠", "１７６７２２５６００", "-{0}"]
)
def test_a_timestamp_in_another_spelling_is_refused(host, spelling):
    timestamp = spelling.format(int(time.time()))
    headers = host.headers("GET", "/api/v1/ping", b"", timestamp=0)
    headers["X-Mall-Timestamp"] = timestamp
    # Signed over the odd spelling too: the refusal is the spelling's, not the signature's.
    headers["X-Mall-Signature"] = signing.sign(
        host.secret,
        signing.request_string(
            method="GET", path="/api/v1/ping", timestamp=timestamp, nonce=headers["X-Mall-Nonce"], body=b""
        ),
    )
    response = host.http.get("/api/v1/ping", headers=headers)
    _json_error(response, 401, StaleTimestampError.code)
    _nothing_written()


def test_check_timestamp_takes_plain_digits_only():
    now = int(time.time())
    services.check_timestamp(str(now))
    for text in (f"{now:_}", f" {now}", f"+{now}", "", "1" * 13):
        with pytest.raises(StaleTimestampError):
            services.check_timestamp(text)


# --- 2. Answers that are not JSON --------------------------------------------------------------


def test_wrong_method_is_405_json_with_allow(host):
    response = host.call("POST", "/ping", {})
    body = _json_error(response, 405, "method_not_allowed")
    assert "POST" in body["message"]
    assert response["Allow"] == "GET"
    _nothing_written()


def test_wrong_method_on_a_purchase_path_lists_its_methods(host):
    response = host.call("DELETE", "/purchases")
    _json_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("path", ["/api/v1/ping/", "/api/v1//ping", "/api/v1/nope", "/api/v1/members/u1/x/y"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_path_is_404_json(host, path, method):
    response = DjangoClient(enforce_csrf_checks=True).generic(method, path, data=b"{}", content_type="application/json")
    _json_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"not json", "application/json"),
        (b"a=1&b=2", "application/x-www-form-urlencoded"),
        (b'{"external_order_id": "\xff"}', "application/json"),  # invalid UTF-8
        ('{"amount": "1"}'.encode("utf-16"), "application/json"),  # valid JSON, not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # RecursionError in the parser
        (b'{"external_order_id": "SO-1", "member": "u1", "amount": NaN}', "application/json"),
        (b'{"external_order_id": "SO-1", "member": "u1", "amount": Infinity}', "application/json"),
    ],
)
def test_an_unreadable_body_is_422_invalid_json(host, raw, content_type):
    headers = host.headers("POST", "/api/v1/purchases", raw)
    response = host.http.generic("POST", "/api/v1/purchases", data=raw, content_type=content_type, headers=headers)
    body = _json_error(response, 422, "invalid_json")
    assert "recursion" not in body["message"].lower()
    assert not IdempotencyRecord.objects.exists()


def test_an_unreadable_body_message_is_translated(host):
    raw = b"not json"
    headers = host.headers("POST", "/api/v1/purchases", raw)
    response = host.http.generic(
        "POST",
        "/api/v1/purchases",
        data=raw,
        content_type="application/json",
        headers=headers,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    _json_error(response, 422, "invalid_json")


def test_a_too_large_body_is_413_json(host, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = json.dumps({"external_order_id": "SO-1", "member": "u1", "amount": "1.00", "x": "a" * 2000}).encode()
    headers = host.headers("POST", "/api/v1/purchases", raw)
    response = host.http.generic(
        "POST", "/api/v1/purchases", data=raw, content_type="application/json", headers=headers
    )
    _json_error(response, 413, "request_too_large")
    _nothing_written()
