"""POST /purchases and POST /purchases/{id}/refunds over the signed host API."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from points import services as points_services
from points.models import Account, Entry, Purchase, PurchaseItem, PurchaseRate, PurchaseRefund
from pointsmall.integration.models import HostMember, IdempotencyRecord
from tests.concurrency import run_together
from tests.factories import MemberFactory
from tests.integration.host import make_host

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = datetime(2026, 5, 1, 10, tzinfo=SHANGHAI)


@pytest.fixture
def linked(host):
    """Member "u1" of the host."""
    member = MemberFactory()
    HostMember.objects.create(client_id=host.client_id, external_id="u1", user=member)
    return member


def written():
    """Everything a purchase or refund writes, counted."""
    return (
        Purchase.objects.count(),
        PurchaseItem.objects.count(),
        PurchaseRefund.objects.count(),
        Entry.objects.count(),
        IdempotencyRecord.objects.count(),
    )


def points_of(user):
    account = Account.objects.get(user=user)
    return account.balance, account.pending, account.debt


def report(host, order="SO-1", amount="128.00", **extra):
    return host.call("POST", "/purchases", {"external_order_id": order, "member": "u1", "amount": amount, **extra})


def refund(host, order="SO-1", **body):
    return host.call("POST", f"/purchases/{order}/refunds", body)


# --- Purchases --------------------------------------------------------------------------------


def test_a_purchase_earns_points_pending_for_the_returns_window(host, linked):
    with time_machine.travel(DAY0, tick=False):
        response = report(host)
    assert response.status_code == 201
    assert response.json() == {
        "external_order_id": "SO-1",
        "member": "u1",
        "amount": "128.00",
        "points": 128,
        "bonus": 50,
        "status": "pending",
        "available_at": "2026-05-08T10:00:00+08:00",
    }
    assert "Idempotent-Replayed" not in response.headers
    assert points_of(linked) == (0, 178, 0)
    with time_machine.travel(DAY0 + timedelta(days=7), tick=False):
        points_services.points_vest()
    assert points_of(linked) == (178, 0, 0)
    assert points_services.points_verify().ok


def test_items_earn_at_their_own_rates_and_are_kept(host, linked):
    PurchaseRate.objects.create(scope="category", key="food", excluded=True)
    PurchaseRate.objects.create(scope="sku", key="TV", points_per_yuan=Decimal("2.5"))
    items = [
        {"sku": "TV", "amount": "100.10"},
        {"sku": "APPLE", "category": "food", "amount": "20.00"},
        {"amount": "9.90"},
    ]
    with time_machine.travel(DAY0, tick=False):
        response = report(host, amount="130.00", items=items)
    assert response.status_code == 201
    assert response.json()["points"] == 260  # 250.25 + 0 + 9.90 = 260.15, rounded down once
    rows = list(PurchaseItem.objects.order_by("pk").values_list("sku", "category", "amount", "base_value"))
    assert rows == [
        ("TV", "", Decimal("100.10"), Decimal("250.2500")),
        ("APPLE", "food", Decimal("20.00"), Decimal("0.0000")),
        ("", "", Decimal("9.90"), Decimal("9.9000")),
    ]


def test_a_future_purchase_time_counts_as_now(host, linked):
    with time_machine.travel(DAY0, tick=False):
        response = report(host, purchased_at="2026-06-01T00:00:00+08:00")
    assert response.status_code == 201
    assert response.json()["available_at"] == "2026-05-08T10:00:00+08:00"
    assert Purchase.objects.get().occurred_at == DAY0


def test_the_same_purchase_again_replays_the_first_answer(host, linked):
    with time_machine.travel(DAY0, tick=False):
        first = report(host)
        before = written()
        again = report(host)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert written() == before


def test_the_same_order_id_with_another_body_is_a_conflict_and_writes_nothing(host, linked):
    report(host)
    before, pending = written(), points_of(linked)
    response = report(host, amount="129.00")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert (written(), points_of(linked)) == (before, pending)


def test_an_order_id_another_client_or_the_import_used_is_taken(host, linked):
    other = make_host("Other shop")
    HostMember.objects.create(client_id=other.client_id, external_id="u1", user=linked)
    assert report(other).status_code == 201
    points_services.purchase_record(user_id=linked.pk, external_id="CSV-1", amount=Decimal("128.00"))
    before, pending = written(), points_of(linked)
    for order in ("SO-1", "CSV-1"):
        response = report(host, order=order)
        assert response.status_code == 409
        assert response.json()["code"] == "order_id_taken"
    assert (written(), points_of(linked)) == (before, pending)


def test_an_unknown_member_is_404_and_writes_nothing(host, linked):
    response = host.call("POST", "/purchases", {"external_order_id": "SO-1", "member": "u2", "amount": "1.00"})
    assert response.status_code == 404
    assert response.json()["code"] == "member_not_found"
    assert written() == (0, 0, 0, 0, 0)
    # The refusal left no idempotency record: the host links the member and retries the same id.
    HostMember.objects.create(client_id=host.client_id, external_id="u2", user=MemberFactory())
    again = host.call("POST", "/purchases", {"external_order_id": "SO-1", "member": "u2", "amount": "1.00"})
    assert again.status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "10.001"},
        {"amount": "0"},
        {"amount": "-1.00"},
        {"amount": "1000000.01"},
        {"amount": "NaN"},
        {"amount": "ten"},
        # Money is a JSON string of plain digits: no exponent, other digits, spaces, bare points,
        # leading zeros, JSON numbers or booleans (Decimal() would read most of these).
        {"amount": "1e3"},
        {"amount": "1E2"},
        {"amount": "１００"},
        {"amount": "  5"},
        {"amount": "5 "},
        {"amount": "5\n"},
        {"amount": "5."},
        {"amount": ".5"},
        {"amount": "0005"},
        {"amount": "00.50"},
        {"amount": "+5"},
        {"amount": "5_000"},
        {"amount": 0.1},
        {"amount": 1e3},
        {"amount": 100},
        {"amount": True},
        {"items": [{"amount": "1e2"}]},
        {"items": [{"amount": 128}]},
        {"items": [{"sku": 5, "amount": "128.00"}]},
        {"external_order_id": 12345},
        {"member": ["u1"]},
        {"purchased_at": 1767225600},
        {"external_order_id": "bad id"},
        {"external_order_id": "x" * 65},
        {"member": ""},
        {"purchased_at": "2026-05-01T10:00:00"},
        {"items": []},
        {"items": [{"amount": "1.00"}] * 201},
        {"items": [{"sku": "x" * 65, "amount": "128.00"}]},
        {"items": [{"sku": "TV\x00", "amount": "128.00"}]},
        {"shipping": "1.00"},
    ],
)
def test_a_malformed_purchase_is_422_invalid_request_and_writes_nothing(host, linked, change):
    body = {"external_order_id": "SO-1", "member": "u1", "amount": "128.00", **change}
    response = host.call("POST", "/purchases", body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert written() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    "amount, stored", [("5", "5.00"), ("0.5", "0.50"), ("128.1", "128.10"), ("1000000", "1000000.00")]
)
def test_money_in_each_documented_spelling_is_taken(host, linked, amount, stored):
    response = report(host, amount=amount)
    assert response.status_code == 201
    assert response.json()["amount"] == stored
    assert Purchase.objects.get().amount == Decimal(amount)


@pytest.mark.parametrize(
    "purchased_at", ["2026-01-31T09:59:59+08:00", "2000-01-01T00:00:00+08:00", "0001-01-01T00:00:00+00:00"]
)
def test_a_purchase_older_than_the_bound_is_422_and_writes_nothing(host, linked, purchased_at):
    with time_machine.travel(DAY0, tick=False):
        response = report(host, purchased_at=purchased_at)
    assert response.status_code == 422
    assert response.json()["code"] == "purchase_too_old"
    assert "90" in response.json()["message"]
    assert written() == (0, 0, 0, 0, 0)
    assert points_of(linked) == (0, 0, 0)


def test_the_bound_is_a_setting(host, linked, settings):
    settings.INTEGRATION_PURCHASE_MAX_AGE_DAYS = 10
    with time_machine.travel(DAY0, tick=False):
        response = report(host, purchased_at="2026-04-20T10:00:00+08:00")
    assert response.status_code == 422
    assert response.json()["code"] == "purchase_too_old"
    assert written() == (0, 0, 0, 0, 0)


def test_a_purchase_past_its_returns_window_says_available(host, linked):
    # 90 days back is the oldest taken; the 7-day returns window is long over: spendable at once.
    with time_machine.travel(DAY0, tick=False):
        response = report(host, purchased_at="2026-01-31T10:00:01+08:00")
    assert response.status_code == 201
    assert response.json()["status"] == "available"
    assert response.json()["available_at"] == "2026-02-07T10:00:01+08:00"
    assert points_of(linked) == (178, 0, 0)


def test_a_purchase_inside_its_returns_window_says_pending(host, linked):
    with time_machine.travel(DAY0, tick=False):
        response = report(host, purchased_at="2026-04-28T10:00:00+08:00")
    assert response.json()["status"] == "pending"
    assert response.json()["available_at"] == "2026-05-05T10:00:00+08:00"
    assert points_of(linked) == (0, 178, 0)


def test_items_that_do_not_add_up_are_422_and_write_nothing(host, linked):
    response = report(host, amount="10.00", items=[{"sku": "A", "amount": "9.00"}])
    assert response.status_code == 422
    assert response.json() == {
        "code": "items_do_not_add_up",
        "message": "The items add up to 9.00 yuan, not to the purchase's amount of 10.00 yuan.",
    }
    assert written() == (0, 0, 0, 0, 0)


def test_a_body_that_is_not_json_is_refused_and_writes_nothing(host, linked):
    response = host.call("POST", "/purchases", raw=b"{not json")
    # Refused before the schema: 422 invalid_json (never Ninja's raw 400 text).
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_json"
    assert written() == (0, 0, 0, 0, 0)


# --- Refunds ----------------------------------------------------------------------------------


def test_a_refund_inside_the_window_cancels_pending_points(host, linked):
    with time_machine.travel(DAY0, tick=False):
        report(host, amount="100.00")
    with time_machine.travel(DAY0 + timedelta(days=2), tick=False):
        response = refund(host, refund_id="r1", amount="25.00")
    assert response.status_code == 201
    assert response.json() == {
        "external_order_id": "SO-1",
        "refund_id": "r1",
        "amount": "25.00",
        "points_taken_back": 25,
        "total_refunded": "25.00",
        "total_points_taken_back": 25,
    }
    assert points_of(linked) == (0, 125, 0)  # 75 purchase points + the 50 bonus, still pending
    with time_machine.travel(DAY0 + timedelta(days=3), tick=False):
        rest = refund(host, refund_id="r2")
    assert rest.json()["amount"] == "75.00"
    assert (rest.json()["points_taken_back"], rest.json()["total_points_taken_back"]) == (75, 100)
    assert points_of(linked) == (0, 0, 0)  # the full refund took the first-purchase bonus too
    assert points_services.points_verify().ok


def test_a_refund_after_the_window_reverses_vested_points(host, linked):
    with time_machine.travel(DAY0, tick=False):
        report(host, amount="100.00")
    with time_machine.travel(DAY0 + timedelta(days=8), tick=False):
        points_services.points_vest()
        assert points_of(linked) == (150, 0, 0)
        response = refund(host, refund_id="r1", amount="40.00")
    assert response.status_code == 201
    assert response.json()["points_taken_back"] == 40
    assert points_of(linked) == (110, 0, 0)
    assert points_services.points_verify().ok


@pytest.fixture
def mixed_purchase(host, linked):
    """¥100: TV ¥60 at 2 points a yuan (120), food ¥40 excluded (0): 120 points."""
    PurchaseRate.objects.create(scope="category", key="food", excluded=True)
    PurchaseRate.objects.create(scope="sku", key="TV", points_per_yuan=Decimal("2"))
    items = [{"sku": "TV", "amount": "60.00"}, {"sku": "RICE", "category": "food", "amount": "40.00"}]
    assert report(host, amount="100.00", items=items).json()["points"] == 120
    return linked


def test_refunding_an_excluded_item_takes_back_nothing(host, mixed_purchase):
    response = refund(host, refund_id="r1", items=[{"sku": "RICE", "amount": "40.00"}])
    assert response.status_code == 201
    assert response.json()["points_taken_back"] == 0
    assert PurchaseItem.objects.get(sku="RICE").refunded_amount == Decimal("40.00")
    assert points_of(mixed_purchase) == (0, 170, 0)


def test_refunding_an_item_takes_back_its_own_points(host, mixed_purchase):
    response = refund(host, refund_id="r1", items=[{"sku": "TV", "amount": "15.00"}])
    assert response.json()["points_taken_back"] == 30  # 120 × (15/60 × 120) / 120
    assert PurchaseItem.objects.get(sku="TV").refunded_amount == Decimal("15.00")
    assert points_of(mixed_purchase) == (0, 140, 0)


def test_mixed_refunds_by_amount_and_items_never_take_back_more_than_earned(host, mixed_purchase):
    first = refund(host, refund_id="r1", amount="50.00")  # half the purchase on average: 60
    assert first.json()["points_taken_back"] == 60
    second = refund(host, refund_id="r2", items=[{"sku": "TV", "amount": "30.00"}])  # TV's half: 60
    assert second.json()["points_taken_back"] == 60
    assert second.json()["total_points_taken_back"] == 120
    # ¥20 left: the rest takes back nothing more (all 120 are back) but the bonus goes with the full refund.
    rest = refund(host, refund_id="r3")
    assert rest.json() == {
        "external_order_id": "SO-1",
        "refund_id": "r3",
        "amount": "20.00",
        "points_taken_back": 0,
        "total_refunded": "100.00",
        "total_points_taken_back": 120,
    }
    assert points_of(mixed_purchase) == (0, 0, 0)
    assert points_services.points_verify().ok


def test_a_refund_of_more_than_is_left_is_422_and_writes_nothing(host, mixed_purchase):
    refund(host, refund_id="r1", amount="90.00")
    before, pending = written(), points_of(mixed_purchase)
    for body, code in (
        ({"amount": "10.01"}, "refund_exceeds_purchase"),
        ({"items": [{"sku": "TV", "amount": "60.01"}]}, "refund_exceeds_item"),
        ({"items": [{"sku": "TV", "amount": "10.01"}]}, "refund_exceeds_purchase"),
    ):
        response = refund(host, refund_id="r2", **body)
        assert response.status_code == 422
        assert response.json()["code"] == code
    assert (written(), points_of(mixed_purchase)) == (before, pending)


def test_an_item_refund_over_what_the_item_has_left_is_422(host, mixed_purchase):
    refund(host, refund_id="r1", items=[{"sku": "RICE", "amount": "30.00"}])
    before = written()
    response = refund(host, refund_id="r2", items=[{"sku": "RICE", "amount": "10.01"}])
    assert response.status_code == 422
    assert response.json() == {
        "code": "refund_exceeds_item",
        "message": "The refund of RICE must be at most what is left of it: 10.00 yuan.",
    }
    assert written() == before


def test_an_sku_the_purchase_does_not_have_is_422_and_writes_nothing(host, mixed_purchase):
    before = written()
    response = refund(host, refund_id="r1", items=[{"sku": "NOPE", "amount": "1.00"}])
    assert response.status_code == 422
    assert response.json() == {"code": "unknown_item", "message": "The purchase has no item with the SKU NOPE."}
    assert written() == before


@pytest.mark.parametrize(
    "body", [{"amount": "1e1"}, {"amount": 10}, {"amount": 0.5}, {"items": [{"sku": "TV", "amount": "１"}]}]
)
def test_refund_money_is_as_strict_as_purchase_money(host, mixed_purchase, body):
    before = written()
    response = refund(host, refund_id="r1", **body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert written() == before


def test_amount_and_items_together_are_422(host, mixed_purchase):
    before = written()
    response = refund(host, refund_id="r1", amount="1.00", items=[{"sku": "TV", "amount": "1.00"}])
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert written() == before


def test_a_refund_after_the_full_refund_is_already_fully_refunded(host, mixed_purchase):
    refund(host, refund_id="r1")
    before = written()
    response = refund(host, refund_id="r2", amount="1.00")
    assert response.status_code == 422
    assert response.json() == {
        "code": "already_fully_refunded",
        "message": "This purchase is already refunded in full: there is nothing left to refund.",
    }
    assert written() == before


def test_another_clients_purchase_is_not_found(host, linked):
    report(host)
    other = make_host("Other shop")
    before = written()
    for order in ("SO-1", "SO-404"):
        response = refund(other, order=order, refund_id="r1", amount="1.00")
        assert response.status_code == 404
        assert response.json()["code"] == "purchase_not_found"
    assert written() == before


def test_a_purchase_from_the_import_cannot_be_refunded_over_the_api(host, linked):
    points_services.purchase_record(user_id=linked.pk, external_id="CSV-1", amount=Decimal("10.00"))
    before = written()
    response = refund(host, order="CSV-1", refund_id="r1")
    assert response.status_code == 404
    assert written() == before


def test_a_refund_replays_and_a_reused_refund_id_is_a_conflict(host, linked):
    report(host, amount="100.00")
    report(host, order="SO-2", amount="100.00")
    first = refund(host, refund_id="r1", amount="10.00")
    before = written()
    again = refund(host, refund_id="r1", amount="10.00")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    for order, body in (("SO-1", {"amount": "11.00"}), ("SO-2", {"amount": "10.00"})):
        response = refund(host, order=order, refund_id="r1", **body)
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_conflict"
    assert written() == before
    assert Purchase.objects.get(external_id="SO-1").refunded_amount == Decimal("10.00")


def test_two_clients_may_use_the_same_refund_id(host, linked):
    other = make_host("Other shop")
    HostMember.objects.create(client_id=other.client_id, external_id="u1", user=linked)
    report(host)
    report(other, order="SO-2")
    assert refund(host, refund_id="r1", amount="1.00").status_code == 201
    assert refund(other, order="SO-2", refund_id="r1", amount="1.00").status_code == 201
    assert PurchaseRefund.objects.count() == 2


# --- Concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_purchase_sent_ten_times_at_once_is_recorded_once():
    host = make_host()
    member = MemberFactory()
    HostMember.objects.create(client_id=host.client_id, external_id="u1", user=member)
    body = {"external_order_id": "SO-1", "member": "u1", "amount": "128.00"}
    calls = [
        (lambda: make_host_call(host, body))
        for _ in range(10)  # each thread its own test client
    ]
    results = run_together(calls)
    assert all(isinstance(r, tuple) for r in results), results
    assert {status for status, _body, _replayed in results} == {201}
    assert len({text for _status, text, _replayed in results}) == 1
    assert sorted(replayed for _s, _b, replayed in results) == [False] + [True] * 9
    assert Purchase.objects.count() == 1
    assert Entry.objects.filter(idempotency_key="purchase:SO-1").count() == 1
    assert points_of(member) == (0, 178, 0)
    assert points_services.points_verify().ok


def make_host_call(host, body):
    from django.test import Client as DjangoClient

    caller = type(host)(key_id=host.key_id, secret=host.secret, client_id=host.client_id, http=DjangoClient())
    response = caller.call("POST", "/purchases", body)
    return response.status_code, json.dumps(response.json(), sort_keys=True), "Idempotent-Replayed" in response.headers
