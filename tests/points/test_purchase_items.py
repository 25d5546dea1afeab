"""Purchase items: what each line earned, and refunds by item under one cumulative rule
(docs/decisions/0034)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from points import rules, services
from points.exceptions import (
    AlreadyFullyRefundedError,
    IdempotencyConflictError,
    InvalidPurchaseError,
    RefundExceedsItemError,
    RefundExceedsPurchaseError,
    UnknownItemError,
)
from points.models import Account, Entry, Purchase, PurchaseItem, PurchaseRate, PurchaseRefund

D = Decimal


def line(amount, sku="", category=""):
    return services.PurchaseLine(amount=D(amount), sku=sku, category=category)


def state():
    return (
        list(Purchase.objects.values_list("refunded_amount", "points_taken_back")),
        list(PurchaseItem.objects.order_by("pk").values_list("refunded_amount", flat=True)),
        PurchaseRefund.objects.count(),
        Entry.objects.count(),
    )


@pytest.fixture
def rates(db):
    PurchaseRate.objects.create(scope="category", key="food", excluded=True)
    PurchaseRate.objects.create(scope="sku", key="TV", points_per_yuan=D("2"))
    PurchaseRate.objects.create(scope="sku", key="PEN", points_per_yuan=D("0.33"))


@pytest.fixture
def bought(member, rates):
    """¥100: TV ¥60 (120), rice ¥30 (food, excluded: 0), pen ¥10 (3.3): 123.3, so 123 points."""
    result = services.purchase_record(
        user_id=member.pk,
        external_id="SO-1",
        amount=D("100"),
        lines=[line("60", "TV"), line("30", "RICE", "food"), line("10", "PEN")],
    )
    assert result.points == 123
    return member


def pending(user):
    return Account.objects.get(user=user).pending


def test_each_line_is_kept_with_its_exact_value(bought):
    rows = list(PurchaseItem.objects.order_by("pk").values_list("sku", "category", "amount", "base_value"))
    assert rows == [
        ("TV", "", D("60.00"), D("120.0000")),
        ("RICE", "food", D("30.00"), D("0.0000")),
        ("PEN", "", D("10.00"), D("3.3000")),
    ]
    assert Purchase.objects.get().base_points == 123


def test_a_purchase_without_lines_keeps_one_item(member):
    services.purchase_record(user_id=member.pk, external_id="SO-1", amount=D("9.99"))
    assert list(PurchaseItem.objects.values_list("sku", "amount", "base_value")) == [("", D("9.99"), D("9.9900"))]


def test_refunding_an_excluded_item_takes_back_nothing(bought):
    result = services.purchase_refund(external_id="SO-1", items=[("RICE", D("30"))], idempotency_key="r1")
    assert (result.points, result.points_taken_back, result.amount) == (0, 0, D("30"))
    assert PurchaseItem.objects.get(sku="RICE").refunded_amount == D("30")
    assert PurchaseRefund.objects.get().items == [
        {"item": PurchaseItem.objects.get(sku="RICE").pk, "sku": "RICE", "amount": "30"}
    ]
    assert pending(bought) == 123 + 50
    assert services.points_verify().ok


def test_an_item_refund_takes_back_the_items_own_share(bought):
    result = services.purchase_refund(external_id="SO-1", items=[("TV", D("30"))], idempotency_key="r1")
    # 123 × (60 of 123.3 value) = 59.85…, rounded down once.
    assert (result.points, result.points_taken_back) == (59, 59)
    pen = services.purchase_refund(external_id="SO-1", items=[("PEN", D("10"))], idempotency_key="r2")
    # Cumulative: 123 × 63.3 / 123.3 = 63.14…: 63 in all, 4 more; no drift from rounding each refund.
    assert (pen.points, pen.points_taken_back) == (4, 63)
    assert pending(bought) == 123 - 63 + 50
    assert services.points_verify().ok


def test_an_amount_refund_still_takes_back_the_average(bought):
    result = services.purchase_refund(external_id="SO-1", amount=D("50"), idempotency_key="r1")
    assert result.points_taken_back == 61  # 123 × 50/100
    assert list(PurchaseItem.objects.values_list("refunded_amount", flat=True)) == [D("0")] * 3


def test_mixed_refunds_never_take_back_more_than_the_purchase_earned(bought):
    services.purchase_refund(external_id="SO-1", amount=D("60"), idempotency_key="r1")  # 73 (123 × 0.6)
    tv = services.purchase_refund(external_id="SO-1", items=[("TV", D("30"))], idempotency_key="r2")
    # 0.6 + 60/123.3 > 1: capped at the whole purchase, 123.
    assert (tv.points, tv.points_taken_back) == (50, 123)
    rest = services.purchase_refund(external_id="SO-1", idempotency_key="r3")
    assert (rest.amount, rest.points, rest.points_taken_back) == (D("10"), 0, 123)
    assert pending(bought) == 0  # the full refund took the first-purchase bonus too
    assert services.points_verify().ok


def test_the_same_sku_twice_fills_its_items_in_order(member):
    services.purchase_record(
        user_id=member.pk,
        external_id="SO-1",
        amount=D("30"),
        lines=[line("10", "A"), line("20", "A")],
    )
    services.purchase_refund(external_id="SO-1", items=[("A", D("5")), ("A", D("10"))], idempotency_key="r1")
    assert list(PurchaseItem.objects.order_by("pk").values_list("refunded_amount", flat=True)) == [D("10"), D("5")]
    assert Purchase.objects.get().points_taken_back == 15


@pytest.mark.parametrize(
    ("items", "error", "code", "message"),
    [
        ([("NOPE", D("1"))], UnknownItemError, "unknown_item", "The purchase has no item with the SKU NOPE."),
        ([("", D("1"))], UnknownItemError, "unknown_item", "The purchase has no item with the SKU ."),
        (
            [("TV", D("60.01"))],
            RefundExceedsItemError,
            "refund_exceeds_item",
            "The refund of TV must be at most what is left of it: 60.00 yuan.",
        ),
        ([("TV", D("0"))], InvalidPurchaseError, "invalid_purchase", "more than 0 with at most two decimals"),
        ([("TV", D("1.001"))], InvalidPurchaseError, "invalid_purchase", "more than 0 with at most two decimals"),
    ],
)
def test_a_bad_item_refund_is_refused_and_writes_nothing(bought, items, error, code, message):
    before = state()
    with pytest.raises(error, match=re.escape(message)) as info:
        services.purchase_refund(external_id="SO-1", items=items, idempotency_key="r1")
    assert info.value.code == code
    assert state() == before


def test_an_item_refund_over_what_the_purchase_has_left_is_refused(bought):
    services.purchase_refund(external_id="SO-1", amount=D("95"), idempotency_key="r1")
    before = state()
    with pytest.raises(RefundExceedsPurchaseError) as info:
        services.purchase_refund(external_id="SO-1", items=[("TV", D("6"))], idempotency_key="r2")
    assert (info.value.code, info.value.params) == ("refund_exceeds_purchase", {"left": D("5.00")})
    assert info.value.message == ("The refund must be more than 0 and at most what is left of the purchase: 5.00 yuan.")
    assert state() == before


@pytest.mark.parametrize(
    "body",
    [{}, {"amount": D("0.01")}, {"items": [("PEN", D("0.01"))]}],
    ids=["in-full", "amount", "items"],
)
def test_any_refund_after_a_full_refund_is_already_fully_refunded(bought, body):
    services.purchase_refund(external_id="SO-1", idempotency_key="r1")
    before = state()
    with pytest.raises(AlreadyFullyRefundedError) as info:
        services.purchase_refund(external_id="SO-1", idempotency_key="r2", **body)
    assert info.value.code == "already_fully_refunded"
    assert state() == before


# Every way to reach "refunded in full": the bonus goes back with the refund that completes it.
FULL_REFUND_PATHS = {
    "in-full": [{}],
    "amount-parts": [{"amount": D("20")}, {"amount": D("30")}, {"amount": D("50")}],
    "amount-then-rest": [{"amount": D("20")}, {}],
    "item-parts": [{"items": [("TV", D("60"))]}, {"items": [("RICE", D("30")), ("PEN", D("10"))]}],
    "items-then-rest": [{"items": [("TV", D("28"))]}, {}],
    "mixed-three-parts": [{"amount": D("20")}, {"items": [("TV", D("28"))]}, {}],
    "mixed-ending-on-items": [{"amount": D("52")}, {"items": [("TV", D("38")), ("PEN", D("10"))]}],
    "mixed-ending-on-amount": [{"items": [("TV", D("60"))]}, {"amount": D("40")}],
}


@pytest.mark.parametrize("steps", FULL_REFUND_PATHS.values(), ids=FULL_REFUND_PATHS.keys())
@pytest.mark.parametrize("vested", [False, True], ids=["pending", "vested"])
def test_the_first_purchase_bonus_goes_back_with_the_refund_that_completes_the_purchase(bought, steps, vested):
    with time_machine.travel(timezone.now() + timedelta(days=8 if vested else 1), tick=False):
        if vested:
            services.points_vest()
        refund_in_steps(bought, steps)


def refund_in_steps(bought, steps):
    *parts, last = steps
    for n, body in enumerate(parts):
        services.purchase_refund(external_id="SO-1", idempotency_key=f"r{n}", **body)
        assert Entry.objects.filter(idempotency_key__endswith=":bonus").count() == 0
    final = services.purchase_refund(external_id="SO-1", idempotency_key="last", **last)
    account = Account.objects.get(user=bought)
    assert (final.refunded_amount, final.points_taken_back) == (D("100.00"), 123)
    assert (account.balance, account.pending, account.debt) == (0, 0, 0)
    bonus = Entry.objects.get(idempotency_key="purchase-refund:last:bonus")
    assert bonus.amount + bonus.pending_amount == -50
    assert services.points_verify().ok


def test_amount_and_items_together_are_refused(bought):
    before = state()
    with pytest.raises(InvalidPurchaseError, match="not both"):
        services.purchase_refund(external_id="SO-1", amount=D("1"), items=[("TV", D("1"))], idempotency_key="r1")
    assert state() == before


def test_an_item_refund_replays_and_its_key_with_other_items_conflicts(bought):
    first = services.purchase_refund(external_id="SO-1", items=[("TV", D("30"))], idempotency_key="r1")
    before = state()
    again = services.purchase_refund(external_id="SO-1", items=[("TV", D("30.00"))], idempotency_key="r1")
    assert again.replayed and (again.amount, again.points, again.points_taken_back) == (D("30"), 59, 59)
    assert first.points == again.points
    with pytest.raises(IdempotencyConflictError):
        services.purchase_refund(external_id="SO-1", items=[("PEN", D("30"))], idempotency_key="r1")
    assert state() == before


def test_the_rule_is_the_old_proportion_for_refunds_by_amount():
    for refunded in (D("0.01"), D("1"), D("33.33"), D("99.99")):
        assert rules.refund_points_target(
            points=101, amount=D("100"), refunded_total=refunded, refunded_by_amount=refunded, items=[]
        ) == rules.points_to_take_back(101, D("100"), refunded)
