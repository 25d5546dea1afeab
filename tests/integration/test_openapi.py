"""The published OpenAPI document describes what the API answers: every operation its success
body and the refusals every signed call can get, and real answers fit the declared bodies."""

from __future__ import annotations

import pytest

from points import services as points_services
from pointsmall.integration.api import api
from pointsmall.integration.api.holds import BalanceOut, EntriesOut, HoldOut
from pointsmall.integration.api.schemas import ErrorOut
from pointsmall.integration.models import HostMember
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _operations():
    document = api.get_openapi_schema()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_its_success_body_and_the_signature_refusals():
    for name, operation in _operations():
        answers = operation["responses"]
        successes = [code for code in answers if 200 <= int(code) < 300]
        assert successes, name
        for code in successes:
            assert answers[code]["content"]["application/json"]["schema"], name
        for code in (401, 403, 422):
            schema = answers[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (name, code)


def test_the_error_body_documents_the_fields_at_fault():
    document = api.get_openapi_schema()
    assert set(document["components"]["schemas"]["ErrorOut"]["properties"]) == {"code", "message", "errors"}


def test_real_answers_fit_the_declared_bodies(host):
    member = MemberFactory()
    HostMember.objects.create(client_id=host.client_id, external_id="u1", user=member)
    points_services.points_earn(user_id=member.pk, amount=500, idempotency_key="seed")

    hold = host.call("POST", "/members/u1/holds", {"host_order_id": "HO-1", "points": 100})
    assert hold.status_code == 201
    HoldOut.model_validate(hold.json())
    captured = host.call("POST", f"/holds/{hold.json()['id']}/capture")
    assert HoldOut.model_validate(captured.json()).entry_id is not None
    BalanceOut.model_validate(host.call("GET", "/members/u1/balance").json())
    entries = EntriesOut.model_validate(host.call("GET", "/members/u1/entries").json())
    assert [entry.kind for entry in entries.results] == ["spend", "earn"]
    refused = host.call("GET", "/holds/999999")
    assert ErrorOut.model_validate(refused.json()).code == "hold_not_found"
