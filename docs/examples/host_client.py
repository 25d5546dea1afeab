"""A host system's client for the points mall API (docs/integration.md).

Dependency-light: ``requests`` and the standard library. Copy it into the host's code base.

    mall = MallClient("https://mall.example.com", key_id="mk_…", secret="…")
    mall.ping()
    mall.put_member("u-42", email="li.lei@example.com", email_verified=True)
    mall.report_purchase("SO-1001", member="u-42", amount="128.00")
    url = login_link("https://mall.example.com", key_id="mk_…", secret="…", uid="u-42")
    event = verify_webhook(secret="…", header=signature_header, body=raw_body)

Every function and method is run against a live mall by tests/integration/test_client_example.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

import requests

API_PREFIX = "/api/v1"
MAX_AGE_SECONDS = 300


class MallError(Exception):
    """The mall refused a call: ``status`` (HTTP), ``code`` (stable) and ``message`` (for people)."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class WebhookError(Exception):
    """A webhook delivery failed verification: do not act on it (answer 400)."""


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """METHOD, path?query, timestamp, nonce and the body's SHA-256, one per line."""
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])


def sign_headers(
    *,
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four signing headers of one request (``path`` from /api/v1/…, query string included)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    signature = hmac_hex(secret, string_to_sign(method, path, ts, nonce, body).encode())
    return {"X-Mall-Key": key_id, "X-Mall-Timestamp": ts, "X-Mall-Nonce": nonce, "X-Mall-Signature": signature}


class MallClient:
    """Signed calls to ``<base_url>/api/v1``. Each method returns the JSON answer (a dict) or
    raises MallError. ``last_response`` keeps the last ``requests.Response`` (status, headers
    such as ``Idempotent-Replayed``)."""

    def __init__(
        self,
        base_url: str,
        *,
        key_id: str,
        secret: str,
        timeout: float = 10.0,
        language: str = "en",
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.timeout = timeout
        self.language = language
        self.http = session or requests.Session()
        self.last_response: requests.Response | None = None

    def call(self, method: str, path: str, payload: Any = None, *, query: dict[str, Any] | None = None) -> Any:
        """Sign and send one request; ``path`` is under /api/v1 (e.g. "/members/u-42")."""
        query_string = ("?" + urlencode(query)) if query else ""
        # Sent percent-encoded; signed with the path decoded and the query as sent (docs/integration.md).
        full = quote(API_PREFIX + path, safe="/") + query_string
        signed_path = API_PREFIX + path + query_string
        # Serialise once: the signature covers exactly these bytes.
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = sign_headers(key_id=self.key_id, secret=self.secret, method=method, path=signed_path, body=body)
        headers["Accept-Language"] = self.language
        if payload is not None:
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, self.base_url + full, data=body, headers=headers, timeout=self.timeout)
        self.last_response = response
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            data = data if isinstance(data, dict) else {}
            raise MallError(response.status_code, data.get("code", "http_error"), data.get("message", ""), data)
        return data

    # --- endpoints (docs/integration.md, "Endpoints") ---

    def ping(self) -> dict:
        return self.call("GET", "/ping")

    def put_member(self, external_id: str, **fields: Any) -> dict:
        """Fields: email, email_verified, phone, phone_verified, display_name, language (only those given change)."""
        return self.call("PUT", f"/members/{external_id}", fields)

    def report_purchase(
        self,
        external_order_id: str,
        *,
        member: str,
        amount: str,
        items: list[dict] | None = None,
        purchased_at: str | None = None,
    ) -> dict:
        """``amount`` as a string with two decimals ("128.00"). Retry with the same id and body."""
        payload: dict[str, Any] = {"external_order_id": external_order_id, "member": member, "amount": amount}
        if items is not None:
            payload["items"] = items
        if purchased_at is not None:
            payload["purchased_at"] = purchased_at
        return self.call("POST", "/purchases", payload)

    def refund(
        self, external_order_id: str, *, refund_id: str, amount: str | None = None, items: list[dict] | None = None
    ) -> dict:
        """Neither ``amount`` nor ``items``: the rest of the purchase, in full."""
        payload: dict[str, Any] = {"refund_id": refund_id}
        if amount is not None:
            payload["amount"] = amount
        if items is not None:
            payload["items"] = items
        return self.call("POST", f"/purchases/{external_order_id}/refunds", payload)

    def place_hold(
        self, external_id: str, *, host_order_id: str, points: int, expires_in_minutes: int | None = None
    ) -> dict:
        payload: dict[str, Any] = {"host_order_id": host_order_id, "points": points}
        if expires_in_minutes is not None:
            payload["expires_in_minutes"] = expires_in_minutes
        return self.call("POST", f"/members/{external_id}/holds", payload)

    def get_hold(self, hold_id: int) -> dict:
        return self.call("GET", f"/holds/{hold_id}")

    def capture_hold(self, hold_id: int) -> dict:
        return self.call("POST", f"/holds/{hold_id}/capture")

    def release_hold(self, hold_id: int) -> dict:
        return self.call("POST", f"/holds/{hold_id}/release")

    def balance(self, external_id: str) -> dict:
        return self.call("GET", f"/members/{external_id}/balance")

    def entries(self, external_id: str, *, page: int = 1, page_size: int = 50) -> dict:
        return self.call("GET", f"/members/{external_id}/entries", query={"page": page, "page_size": page_size})


def link_string(params: dict[str, str]) -> str:
    """Every parameter but ``sign``, sorted by name, ``name=value`` joined by ``&``, each name and
    value percent-encoded first (only ``A-Z a-z 0-9 - . _ ~`` stay as they are)."""
    return "&".join(
        f"{quote(name, safe='')}={quote(params[name], safe='')}" for name in sorted(params) if name != "sign"
    )


def login_link(
    base_url: str,
    *,
    key_id: str,
    secret: str,
    uid: str,
    redirect: str | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> str:
    """A signed login link (免登录) for the member ``uid``; ``redirect`` a path of the mall.
    Build it when the member clicks: it works once, for 5 minutes."""
    params = {
        "key": key_id,
        "uid": uid,
        "ts": str(int(time.time()) if timestamp is None else timestamp),
        "nonce": nonce or secrets.token_hex(16),
    }
    if redirect is not None:
        params["redirect"] = redirect
    params["sign"] = hmac_hex(secret, link_string(params).encode())
    return base_url.rstrip("/") + "/sso/login?" + urlencode(params)


def verify_webhook(
    *, secret: str, header: str, body: bytes, now: float | None = None, seen: set[str] | None = None
) -> dict:
    """Check a webhook delivery and return its event (the parsed body). Raises WebhookError.

    ``header``: the X-Mall-Signature value (``t=…,v1=…[,v1=…]``); ``body``: the raw bytes as
    received. ``seen``: event ids already processed (a stand-in for your own store); a repeat
    raises WebhookError("duplicate") so you can answer 200 without acting twice.
    """
    timestamp, signatures = "", []
    for part in (header or "").split(","):  # a missing header is malformed, not a crash
        name, _eq, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value)
    # 1-12 ASCII digits only: str.isdigit() also takes "²" and other scripts' digits, and int()
    # refuses (ValueError) a string of thousands of digits.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or not signatures:
        raise WebhookError("malformed signature header")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        raise WebhookError("too old")
    expected = hmac_hex(secret, timestamp.encode() + b"." + body)
    # Compare with every v1 (two during a rotation), each in constant time.
    # Bytes, not text: compare_digest raises TypeError on a str with non-ASCII characters.
    if not any(hmac.compare_digest(expected.encode(), signature.encode()) for signature in signatures):
        raise WebhookError("bad signature")
    event = json.loads(body)
    if seen is not None:
        if event["id"] in seen:
            raise WebhookError("duplicate")
        seen.add(event["id"])
    return event
