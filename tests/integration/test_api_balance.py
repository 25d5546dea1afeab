"""The host API's reads of a member's points: GET /members/{id}/balance and /members/{id}/entries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from points import services as points_services
from points.models import Entry
from pointsmall.integration.models import HostMember
from tests.factories import MemberFactory, StaffFactory
from tests.integration.host import make_host

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


@pytest.fixture
def shopper(host):
    member = MemberFactory()
    HostMember.objects.create(client_id=host.client_id, external_id="u1", user=member)
    return member


def test_the_balance_of_a_member_with_every_kind_of_points(host, shopper, clock):
    earn = points_services.points_earn
    earn(user_id=shopper.pk, amount=500, idempotency_key="b1")
    earn(user_id=shopper.pk, amount=80, idempotency_key="b2", expires_at=T0 + timedelta(days=3))
    earn(user_id=shopper.pk, amount=40, idempotency_key="b3", available_at=T0 + timedelta(days=7))
    host.call("POST", "/members/u1/holds", {"host_order_id": "A1", "points": 150})

    response = host.call("GET", "/members/u1/balance")

    assert response.status_code == 200
    assert response.json() == {
        "member": "u1",
        "available": 430,
        "pending": 40,
        "held": 150,
        "owed": 0,
        "expiring_soon": {"points": 80, "by": "2025-01-13", "within_days": 30},
        "tier": {"code": "regular", "name": "Regular"},
    }


def test_the_balance_shows_points_owed_after_a_reversal(host, shopper):
    earning = points_services.points_earn(user_id=shopper.pk, amount=100, idempotency_key="o1")
    points_services.points_spend(user_id=shopper.pk, amount=70, idempotency_key="o2")
    points_services.points_reverse(user_id=shopper.pk, earn_entry_id=earning.entry_id, idempotency_key="o3")

    body = host.call("GET", "/members/u1/balance").json()

    assert (body["available"], body["held"], body["owed"], body["expiring_soon"]) == (
        0,
        0,
        70,
        {"points": 0, "by": None, "within_days": 30},
    )


def test_the_balance_of_an_unknown_or_another_clients_member_is_not_found(host, shopper):
    other = make_host("Other shop")
    assert host.call("GET", "/members/nobody/balance").json()["code"] == "member_not_found"
    response = other.call("GET", "/members/u1/balance")
    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")


def test_entries_newest_first_with_their_text_in_the_requests_language(host, shopper, clock):
    points_services.points_earn(
        user_id=shopper.pk, amount=300, idempotency_key="h1", reference="host.order:P1", memo_code="points.purchase",
        memo_params={"order": "P1"},
    )  # fmt: skip
    clock.shift(timedelta(minutes=1))
    hold_id = host.call("POST", "/members/u1/holds", {"host_order_id": "A1", "points": 120}).json()["id"]
    host.call("POST", f"/holds/{hold_id}/capture")
    earn_entry, spend_entry = Entry.objects.order_by("pk")

    response = host.call("GET", "/members/u1/entries")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "page": 1,
        "page_size": 50,
        "next_page": None,
        "results": [
            {
                "id": spend_entry.pk,
                "created_at": "2025-01-10T12:01:00+08:00",
                "kind": "spend",
                "points": -120,
                "pending_points": 0,
                "balance_after": 180,
                "description": "Paid with points at the shop, order A1",
                "reference": "host.order:A1",
            },
            {
                "id": earn_entry.pk,
                "created_at": "2025-01-10T12:00:00+08:00",
                "kind": "earn",
                "points": 300,
                "pending_points": 0,
                "balance_after": 300,
                "description": "Purchase P1",
                "reference": "host.order:P1",
            },
        ],
    }


def test_entries_are_described_in_the_requests_language(host, shopper):
    points_services.points_earn(
        user_id=shopper.pk, amount=300, idempotency_key="h1", memo_code="points.purchase", memo_params={"order": "P1"}
    )
    path = "/api/v1/members/u1/entries"
    headers = {**host.headers("GET", path, b""), "Accept-Language": "zh-hans"}

    response = host.http.get(path, headers=headers)

    assert response.json()["results"][0]["description"] == "购物订单P1"


def test_entries_are_paged(host, shopper, clock):
    for n in range(5):
        points_services.points_earn(user_id=shopper.pk, amount=10 + n, idempotency_key=f"p{n}")
        clock.shift(timedelta(seconds=1))

    first = host.call("GET", "/members/u1/entries?page=1&page_size=2").json()
    last = host.call("GET", "/members/u1/entries?page=3&page_size=2").json()
    beyond = host.call("GET", "/members/u1/entries?page=4&page_size=2").json()

    assert (first["count"], first["next_page"], [r["points"] for r in first["results"]]) == (5, 2, [14, 13])
    assert (last["next_page"], [r["points"] for r in last["results"]]) == (None, [10])
    assert (beyond["count"], beyond["page"], beyond["next_page"], beyond["results"]) == (5, 4, None, [])


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=101", "page=x", "page=1&page_size=-1"])
def test_bad_paging_is_refused(host, shopper, query):
    response = host.call("GET", f"/members/u1/entries?{query}")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")


def test_entries_of_another_clients_member_are_not_found(host, shopper):
    other = make_host("Other shop")
    response = other.call("GET", "/members/u1/entries")
    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")


def test_an_adjustment_reads_as_the_operators_words(host, shopper):
    points_services.points_adjust(
        user_id=shopper.pk, amount=25, reason="Goodwill", actor_id=StaffFactory().pk, idempotency_key="adj"
    )
    row = host.call("GET", "/members/u1/entries").json()["results"][0]
    assert (row["kind"], row["points"], row["description"]) == ("adjust", 25, "Adjusted by the mall: Goodwill")
