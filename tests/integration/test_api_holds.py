"""The host API's checkout holds (积分抵扣): POST /members/{id}/holds, GET /holds/{id}, capture, release."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from points import services as points_services
from points.enums import EntryKind, HoldStatus
from points.models import Account, Entry, Hold
from pointsmall.integration.models import HostMember, IdempotencyRecord
from tests.factories import MemberFactory
from tests.integration.host import make_host

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    # Ticking: the signed requests carry the real time of the frozen clock.
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
    points_services.points_earn(user_id=member.pk, amount=500, idempotency_key="api-test-earn")
    return member


def hold_body(order="A1", points=200, **extra):
    return {"host_order_id": order, "points": points, **extra}


def written() -> tuple:
    return (
        list(Hold.objects.order_by("pk").values()),
        list(Entry.objects.order_by("pk").values_list("pk", "kind", "amount")),
        list(Account.objects.order_by("pk").values_list("balance", "held")),
        IdempotencyRecord.objects.count(),
    )


def test_placing_a_hold(host, shopper):
    response = host.call("POST", "/members/u1/holds", hold_body())

    hold = Hold.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "id": hold.pk,
        "host_order_id": "A1",
        "member": "u1",
        "points": 200,
        "status": "active",
        "expires_at": (T0 + timedelta(minutes=15)).isoformat(),
    }
    assert "Idempotent-Replayed" not in response.headers
    assert (hold.key, hold.reference) == (f"host:{host.client_id}:A1", "host.order:A1")
    assert Account.objects.get(user=shopper).held == 200


def test_the_host_chooses_how_long_a_hold_lasts(host, shopper):
    response = host.call("POST", "/members/u1/holds", hold_body(expires_in_minutes=90))
    assert response.json()["expires_at"] == (T0 + timedelta(minutes=90)).isoformat()


def test_the_same_hold_again_is_replayed(host, shopper):
    first = host.call("POST", "/members/u1/holds", hold_body())
    again = host.call("POST", "/members/u1/holds", hold_body())

    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (201, first.json(), "true")
    assert (Hold.objects.count(), Account.objects.get(user=shopper).held) == (1, 200)


def test_the_same_order_with_other_points_is_a_conflict(host, shopper):
    host.call("POST", "/members/u1/holds", hold_body())
    before = written()

    response = host.call("POST", "/members/u1/holds", hold_body(points=201))

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert written() == before


def test_a_hold_larger_than_the_available_points_is_refused(host, shopper):
    host.call("POST", "/members/u1/holds", hold_body(points=400))
    before = written()

    response = host.call("POST", "/members/u1/holds", hold_body("A2", points=101))

    assert response.status_code == 422
    assert response.json() == {
        "code": "insufficient_points",
        "message": "Not enough points: you have 100, this needs 101.",
    }
    assert written() == before


def test_an_unknown_member_is_not_found(host, shopper):
    before = written()
    response = host.call("POST", "/members/nobody/holds", hold_body())
    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")
    assert written() == before


@pytest.mark.parametrize(
    "body",
    [
        {"host_order_id": "A1"},
        {"host_order_id": "A1", "points": 0},
        {"host_order_id": "A1", "points": 10**9 + 1},
        {"host_order_id": "A1", "points": "10"},
        {"host_order_id": "A1", "points": 1.5},
        {"host_order_id": "A 1", "points": 10},
        {"host_order_id": "x" * 65, "points": 10},
        {"host_order_id": "A1", "points": 10, "expires_in_minutes": 0},
        {"host_order_id": "A1", "points": 10, "expires_in_minutes": 1441},
        {"points": 10},
        {"host_order_id": 1234, "points": 10},
        {"host_order_id": "A1", "points": True},
        {"host_order_id": "A1", "points": 10, "expires_in_minutes": "15"},
        {"host_order_id": "A1", "points": 10, "expires_in_minutes": 15.0},
        {"host_order_id": "A1", "points": 10, "note": "an unknown field"},
    ],
)
def test_bad_input_is_refused_before_anything_runs(host, shopper, body):
    before = written()
    response = host.call("POST", "/members/u1/holds", body)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert written() == before


def test_a_bad_member_id_is_refused(host, shopper):
    response = host.call("POST", "/members/a%20b/holds", hold_body())
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")


def test_reading_a_hold(host, shopper):
    hold_id = host.call("POST", "/members/u1/holds", hold_body()).json()["id"]

    response = host.call("GET", f"/holds/{hold_id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": hold_id,
        "host_order_id": "A1",
        "member": "u1",
        "points": 200,
        "status": "active",
        "expires_at": (T0 + timedelta(minutes=15)).isoformat(),
    }


def test_capture_spends_the_points_and_again_answers_the_same(host, shopper):
    hold_id = host.call("POST", "/members/u1/holds", hold_body()).json()["id"]

    first = host.call("POST", f"/holds/{hold_id}/capture")
    again = host.call("POST", f"/holds/{hold_id}/capture")

    entry = Entry.objects.get(kind=EntryKind.SPEND)
    assert first.status_code == 200
    assert first.json() == {
        "id": hold_id,
        "host_order_id": "A1",
        "member": "u1",
        "points": 200,
        "status": "captured",
        "expires_at": (T0 + timedelta(minutes=15)).isoformat(),
        "entry_id": entry.pk,
    }
    assert (again.status_code, again.json()) == (200, first.json())
    assert (entry.amount, entry.reference, entry.memo_code, entry.memo_params) == (
        -200,
        "host.order:A1",
        "points.checkout_paid",
        {"order": "A1"},
    )
    account = Account.objects.get(user=shopper)
    assert (account.balance, account.held) == (300, 0)
    assert host.call("GET", f"/holds/{hold_id}").json() == first.json()


def test_release_gives_the_points_back_and_again_answers_the_same(host, shopper):
    hold_id = host.call("POST", "/members/u1/holds", hold_body()).json()["id"]

    first = host.call("POST", f"/holds/{hold_id}/release")
    again = host.call("POST", f"/holds/{hold_id}/release")

    assert (first.status_code, first.json()["status"]) == (200, "released")
    assert (again.status_code, again.json()) == (200, first.json())
    assert (Account.objects.get(user=shopper).balance, Account.objects.get(user=shopper).held) == (500, 0)


def test_capture_of_a_released_hold_and_release_of_a_captured_one_are_refused(host, shopper):
    released = host.call("POST", "/members/u1/holds", hold_body("A1")).json()["id"]
    captured = host.call("POST", "/members/u1/holds", hold_body("A2")).json()["id"]
    host.call("POST", f"/holds/{released}/release")
    host.call("POST", f"/holds/{captured}/capture")
    before = written()

    late = host.call("POST", f"/holds/{released}/capture")
    undo = host.call("POST", f"/holds/{captured}/release")

    assert (late.status_code, late.json()) == (
        409,
        {
            "code": "hold_not_active",
            "message": "This hold of points is released: it can no longer be captured or released.",
        },
    )
    assert (undo.status_code, undo.json()["code"]) == (409, "hold_not_active")
    assert written() == before


def test_capture_after_the_hold_ran_out_is_refused_and_the_hold_expires(host, shopper, clock):
    hold_id = host.call("POST", "/members/u1/holds", hold_body()).json()["id"]
    clock.move_to(T0 + timedelta(minutes=15))

    response = host.call("POST", f"/holds/{hold_id}/capture")

    assert (response.status_code, response.json()["code"]) == (409, "hold_not_active")
    assert host.call("GET", f"/holds/{hold_id}").json()["status"] == "expired"
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == 0
    assert Account.objects.get(user=shopper).held == 0


def test_a_hold_whose_time_ran_out_reads_expired_before_the_sweep(host, shopper, clock):
    hold_id = host.call("POST", "/members/u1/holds", hold_body()).json()["id"]
    clock.move_to(T0 + timedelta(minutes=15))

    response = host.call("GET", f"/holds/{hold_id}")

    # A capture now would refuse it: the answer says so, though the sweep has not run.
    assert response.json()["status"] == "expired"
    assert Hold.objects.get().status == HoldStatus.ACTIVE


def test_another_clients_hold_is_not_found(host, shopper):
    hold_id = host.call("POST", "/members/u1/holds", hold_body()).json()["id"]
    other = make_host("Other shop")
    before = written()

    for method, path in [
        ("GET", f"/holds/{hold_id}"),
        ("POST", f"/holds/{hold_id}/capture"),
        ("POST", f"/holds/{hold_id}/release"),
    ]:
        response = other.call(method, path)
        assert (response.status_code, response.json()) == (
            404,
            {"code": "hold_not_found", "message": "This client has no hold with this id."},
        )
    assert written() == before
    assert Hold.objects.get().status == HoldStatus.ACTIVE


def test_an_unknown_hold_is_not_found(host, shopper):
    assert host.call("GET", "/holds/999").json()["code"] == "hold_not_found"
    assert host.call("POST", "/holds/999/capture").status_code == 404


def test_two_clients_may_use_the_same_order_id(host, shopper):
    other = make_host("Other shop")
    HostMember.objects.create(client_id=other.client_id, external_id="u1", user=shopper)

    first = host.call("POST", "/members/u1/holds", hold_body(points=100))
    second = other.call("POST", "/members/u1/holds", hold_body(points=100))

    assert (first.status_code, second.status_code) == (201, 201)
    assert Account.objects.get(user=shopper).held == 200


def test_ids_and_pages_beyond_what_the_database_holds_are_422(host):
    """Found by the fuzzer: a hold id past bigint reached Postgres (500)."""
    for path in ("/holds/9223372036854775808", "/holds/0"):
        response = host.call("GET", path)
        assert response.status_code == 422, (path, response.content)
        assert response.json()["code"] == "invalid_request"
    response = host.call("GET", "/members/u1/entries?page=99999999999999999999")
    assert response.status_code == 422


def test_a_hold_past_its_time_reads_expired_and_frees_its_points_before_the_sweep(host, shopper, clock):
    hold_id = host.call("POST", "/members/u1/holds", hold_body()).json()["id"]
    clock.move_to(T0 + timedelta(minutes=15))
    before = written()

    read = host.call("GET", f"/holds/{hold_id}").json()
    balance = host.call("GET", "/members/u1/balance").json()

    assert read["status"] == "expired"
    assert (balance["available"], balance["held"]) == (500, 0)
    assert written() == before  # reading computes the state; the sweep or the next write records it


def test_a_hold_of_a_member_closed_since_is_not_captured_but_can_be_released(host):
    from django.contrib.auth import get_user_model

    from pointsmall.integration.models import HostMember
    from tests.factories import MemberFactory

    member = MemberFactory()
    HostMember.objects.create(client_id=host.client_id, external_id="cl", user=member)
    points_services.points_earn(user_id=member.pk, amount=100, idempotency_key="cl-seed")
    hold = host.call("POST", "/members/cl/holds", {"host_order_id": "CL-1", "points": 10}).json()
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    entries = Entry.objects.count()

    refused = host.call("POST", f"/holds/{hold['id']}/capture")

    assert (refused.status_code, refused.json()["code"]) == (409, "member_unavailable")
    assert Entry.objects.count() == entries
    assert Hold.objects.get(pk=hold["id"]).status == "active"
    released = host.call("POST", f"/holds/{hold['id']}/release")
    assert (released.status_code, released.json()["status"]) == (200, "released")
