"""Webhook test pieces: a host that knows a member, its endpoints, and a real local HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pointsmall.integration import signing
from pointsmall.integration.enums import WebhookEventType
from pointsmall.integration.models import HostMember, WebhookDelivery, WebhookEndpoint
from tests.integration.host import HostApi, make_host

ALL_EVENTS = list(WebhookEventType.values)


def link(host: HostApi, user, external_id: str) -> HostMember:
    """The host knows ``user`` as ``external_id`` (a plain row, as the member API writes it)."""
    return HostMember.objects.create(client_id=host.client_id, external_id=external_id, user=user)


def endpoint(host: HostApi, url: str = "https://hooks.example.com/mall", events=None, enabled=True) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        client_id=host.client_id, url=url, events=ALL_EVENTS if events is None else events, enabled=enabled
    )


def host_with_member(user, external_id: str = "u-1", **endpoint_options) -> tuple[HostApi, WebhookEndpoint]:
    host = make_host()
    link(host, user, external_id)
    return host, endpoint(host, **endpoint_options)


def bodies(event_type: str) -> list[dict]:
    """The payloads of the deliveries of one event type, oldest first."""
    return list(WebhookDelivery.objects.filter(event_type=event_type).order_by("pk").values_list("payload", flat=True))


def verify(secret: str, header: str, body: bytes) -> bool:
    """The host's check of ``X-Mall-Signature``, as docs/integration.md tells it: ``t=<unix>,v1=<hex>``
    where v1 is HMAC-SHA256(secret, "<t>.<raw body>")."""
    parts = [item.split("=", 1) for item in header.split(",")]
    timestamp = next(value for name, value in parts if name == "t")
    expected = signing.sign(secret, f"{timestamp}.".encode() + body)
    return any(name == "v1" and value == expected for name, value in parts)


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: answers POSTs with the scripted statuses in turn (the last
    one again when the script runs out) and records every request."""

    statuses: list[int]
    hits: list[Hit] = field(default_factory=list)
    url: str = ""
    received: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_receiver(*statuses: int, location: str = "") -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses) or [200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.hits.append(Hit(self.path, dict(self.headers.items()), body))
            status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
            answer = b'{"ok": true}' if 200 <= status < 300 else b"upstream trouble"
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            receiver.received.set()

        def log_message(self, format, *args) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
