"""The host API answers a frozen member's purchase and checkout hold with a clear error (docs/decisions/0055)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from points import services as points_services
from points.models import Account, Entry, Hold, Purchase
from pointsmall.integration.models import HostMember, IdempotencyRecord
from tests.factories import MemberFactory, StaffFactory

T0 = datetime(2025, 1, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
FROZEN = {
    "code": "account_frozen",
    "message": "Your points account is frozen: you cannot earn or spend points for now. Please contact support.",
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def frozen(host):
    member = MemberFactory()
    HostMember.objects.create(client_id=host.client_id, external_id="u1", user=member)
    points_services.points_earn(user_id=member.pk, amount=500, idempotency_key="fund")
    operator = StaffFactory()
    points_services.points_account_freeze(user_id=member.pk, actor_id=operator.pk, reason="Review")
    member.operator = operator
    return member


def written():
    return (
        Purchase.objects.count(),
        Hold.objects.count(),
        Entry.objects.count(),
        list(Account.objects.values_list("balance", "held", "pending")),
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/purchases", {"external_order_id": "SO-1", "member": "u1", "amount": "128.00"}),
        ("/members/u1/holds", {"host_order_id": "A1", "points": 100}),
    ],
)
def test_a_frozen_member_s_purchase_or_hold_is_refused_403_and_nothing_is_written(host, frozen, path, body):
    before = written()
    response = host.call("POST", path, body)
    assert (response.status_code, response.json()) == (403, FROZEN)
    assert written() == before
    assert IdempotencyRecord.objects.filter(status_code=201).count() == 0

    points_services.points_account_unfreeze(user_id=frozen.pk, actor_id=frozen.operator.pk, reason="Cleared")
    body = {**body, "external_order_id": "SO-2"} if "external_order_id" in body else {**body, "host_order_id": "A2"}
    assert host.call("POST", path, body).status_code == 201
    assert points_services.points_verify().ok
