"""The whole host API fuzzed from its own OpenAPI document (schemathesis): every operation the
document lists, so endpoints added later are fuzzed too without touching this file.

Each generated request (valid and deliberately invalid ones) is signed with the host's secret
exactly as sent (path with query, body bytes) and goes through Django's test client. The API
must never answer 5xx, every 4xx must be JSON ``{"code", "message", …}``, and a 4xx writes
nothing (every table of the project's apps compared, tests/table_digest.py). Known ids (a
linked member "u1", a purchase "SO-1") are swapped in now and then, so cases reach real rows.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote, urlencode

import pytest
import schemathesis
from django.test import Client as DjangoClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from points import services as points_services
from pointsmall.integration.models import HostMember
from tests.factories import MemberFactory
from tests.table_digest import changed_tables, table_digest, watched_tables

# Ids the fixture data answers to, by the name of the parameter or body field that carries them.
KNOWN = {"external_id": "u1", "member": "u1", "external_order_id": "SO-1"}


@pytest.fixture
def fuzz_host(host):
    """The host with a linked member "u1" who has a purchase "SO-1" (points pending) and some
    available points."""
    member = MemberFactory()
    HostMember.objects.create(client_id=host.client_id, external_id="u1", user=member)
    assert (
        host.call("POST", "/purchases", {"external_order_id": "SO-1", "member": "u1", "amount": "100.00"}).status_code
        == 201
    )
    points_services.points_earn(user_id=member.pk, amount=500, idempotency_key="fuzz-fixture")
    return host


def _swap_known(data: st.DataObject, values: dict[str, Any]) -> None:
    for name in values:
        if name in KNOWN and data.draw(st.booleans(), label=f"known {name}"):
            values[name] = KNOWN[name]


def _query_string(query: dict[str, Any]) -> str:
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    pairs = [
        (name, text(item)) for name, value in query.items() for item in (value if isinstance(value, list) else [value])
    ]
    return urlencode(pairs)


def send_signed(host, case, data: st.DataObject):
    """Send ``case`` as the host would: signed over the path as sent (with its query) and the
    exact body bytes. Returns the Django response."""
    path_parameters = {name: unquote(str(value)) for name, value in (case.path_parameters or {}).items()}
    _swap_known(data, path_parameters)
    # Sent percent-encoded, signed decoded (signing.canonical_path): any escaping verifies.
    path = quote(case.path.format(**path_parameters), safe="/")
    query = _query_string(case.query or {})
    if query:
        path = f"{path}?{query}"
    body = b""
    content_type = case.media_type or "application/json"
    if not isinstance(case.body, type(NOT_SET)):
        payload = case.body
        if isinstance(payload, dict):
            payload = dict(payload)
            _swap_known(data, payload)
        if isinstance(payload, bytes):
            body = payload  # a negative case's raw bytes, sent (and signed) as they are
        else:
            body = json.dumps(payload).encode() if "json" in content_type else str(payload).encode()
    extra = {name: str(value) for name, value in (case.headers or {}).items() if not name.lower().startswith("x-mall-")}
    headers = {**extra, **host.headers(case.method, path, body)}
    return host.http.generic(case.method, path, data=body, content_type=content_type, headers=headers)


# CI-sized: about 25 valid and 25 invalid requests per operation.
FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)


def check_response(case, response) -> None:
    described = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.content[:300]!r}"
    assert response.status_code < 500, described
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), described
        body = response.json()
        assert isinstance(body, dict), described
        assert isinstance(body.get("code"), str) and body["code"], described
        assert isinstance(body.get("message"), str) and body["message"], described


def api_operations():
    """Every operation of the API's published OpenAPI document (GET /api/v1/openapi.json)."""
    response = DjangoClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = schemathesis.openapi.from_dict(response.json())
    return [result.ok() for result in document.get_all_operations()]


def fuzz(operation, mode: GenerationMode, host) -> None:
    # A signed call's nonce is spent whatever the answer (replay protection): not a write of the call's.
    tables = [t for t in watched_tables() if t != "integration_usednonce"]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        before = table_digest(tables)
        response = send_signed(host, case, data)
        check_response(case, response)
        if response.status_code >= 400:
            # A refusal writes nothing (docs/decisions/0054), whatever table it could have touched.
            changed = changed_tables(before, table_digest(tables))
            assert changed == [], f"{case.method} {case.formatted_path} -> {response.status_code} wrote {changed}"

    run()


def test_no_request_breaks_the_api(fuzz_host):
    operations = api_operations()
    labels = {operation.label for operation in operations}
    assert {"POST /api/v1/purchases", "POST /api/v1/purchases/{external_order_id}/refunds"} <= labels
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE, fuzz_host)
        if operation.path_parameters or operation.query or operation.body:
            # Only an operation that takes input can be sent invalid input.
            fuzz(operation, GenerationMode.NEGATIVE, fuzz_host)
