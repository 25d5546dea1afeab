"""Signed calls to the host API from tests, built on the same signing rules the docs publish."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.test import Client as DjangoClient

from pointsmall.integration import services, signing


@dataclass
class HostApi:
    """A host system: its key id and secret, and a Django test client to call the mall with."""

    key_id: str
    secret: str
    client_id: int
    http: DjangoClient

    def headers(
        self, method: str, path: str, body: bytes, *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(16)
        signature = signing.sign(
            self.secret,
            signing.request_string(
                method=method, path=signing.canonical_path(path), timestamp=ts, nonce=nonce, body=body
            ),
        )
        return {
            "X-Mall-Key": self.key_id,
            "X-Mall-Timestamp": ts,
            "X-Mall-Nonce": nonce,
            "X-Mall-Signature": signature,
        }

    def call(self, method: str, path: str, payload: Any = None, *, raw: bytes | None = None, **sign_options: Any):
        """Send a signed request; ``path`` is under /api/v1 (e.g. "/members/u1"). Returns the response."""
        full = "/api/v1" + path
        body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        headers = self.headers(method, full, body, **sign_options)
        return self.http.generic(method, full, data=body, content_type="application/json", headers=headers)


def make_host(name: str = "Shop", **options: Any) -> HostApi:
    client, secret = services.client_create(name=name, **options)
    return HostApi(key_id=client.key_id, secret=secret, client_id=client.pk, http=DjangoClient())
