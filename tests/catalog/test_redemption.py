"""Redemption and the order life cycle at the service level: every rule, every refusal.

Each refusal asserts that nothing was written (no order, event, stock movement, ledger
entry, lot change, stock change or code assignment). After every test the ledger's
invariants must hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import translation

from accounts import selectors as accounts_selectors
from accounts.exceptions import AddressNotFoundError, PinIncorrectError, PinLockedError, PinNotSetError
from catalog import selectors, services
from catalog.enums import OrderStatus, ProductKind, StockReason
from catalog.exceptions import (
    AddressRequiredError,
    DailyLimitReachedError,
    InvalidQuantityError,
    InvalidTransitionError,
    LifetimeLimitReachedError,
    NoCodesLeftError,
    OrderCapExceededError,
    OrderNotFoundError,
    OutOfStockError,
    ProductUnavailableError,
    ReasonRequiredError,
    RequestConflictError,
    SaleEndedError,
    SaleNotStartedError,
    SoldOutError,
    TierRequiredError,
)
from catalog.models import Code, Order, OrderEvent, SalePrice, StockMovement
from points import selectors as points_selectors
from points import services as points_services
from points.enums import EntryKind
from points.exceptions import InsufficientPointsError
from points.models import Entry, LotMovement
from tests.catalog.conftest import PIN, WRONG_PIN, balance
from tests.factories import MemberFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 10, 12, 0, tzinfo=SHANGHAI)

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


_keys = iter(range(1, 1_000_000))


def redeem(buyer, product, quantity=1, *, key=None, pin=PIN, address_id=None):
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=quantity,
        idempotency_key=key or f"test-redeem-{next(_keys)}",
        pin=pin,
        address_id=address_id,
    )


def statuses(order) -> list[tuple[str, str]]:
    return list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))


# --- The quote and the happy path -----------------------------------------------------------


def test_quote_shows_points_cash_and_the_balance_after(buyer, make_product):
    product = make_product(points_price=500, cash_price=Decimal("12.50"))
    quote = services.redemption_quote(user_id=buyer.pk, product_id=product.pk, quantity=2)
    assert (quote.points_total, quote.points_saved, quote.cash_total) == (1000, 0, Decimal("25.00"))
    assert (quote.balance, quote.balance_after, quote.affordable, quote.needs_address) == (2000, 1000, True, True)
    assert (quote.price.list_points, quote.price.unit_points, quote.price.regular_points) == (500, 500, 500)


def test_the_redemption_transaction_refuses_to_run_inside_another_one(buyer, make_product, make_address):
    """It owns its transaction (durable): nested in a caller's, a rollback there could undo an
    order whose flash-gate units were already kept. Nothing is written."""
    product = make_product(points_price=100, stock=3)
    address_id = make_address(buyer)
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        redeem(buyer, product, address_id=address_id)
    assert not Order.objects.exists()
    product.refresh_from_db()
    assert product.stock == 3


def test_redeeming_a_physical_item_debits_points_takes_stock_and_snapshots_the_address(
    buyer, make_product, make_address
):
    product = make_product(points_price=400, stock=10)
    address_id = make_address(buyer)
    order = redeem(buyer, product, 2, address_id=address_id)

    order.refresh_from_db()
    assert (order.status, order.quantity, order.unit_points, order.points_total) == (OrderStatus.APPROVED, 2, 400, 800)
    assert (order.recipient, order.phone, order.address, order.postal_code) == (
        "王小明",
        "13800138000",
        "上海市 上海市 浦东新区 世纪大道 100 号",
        "200120",
    )
    assert (order.product_name, order.kind, order.created_at, order.pay_by) == (
        "Test item",
        ProductKind.PHYSICAL,
        T0,
        None,
    )
    spend = Entry.objects.get(pk=order.spend_entry_id)
    assert (spend.kind, spend.amount, spend.reference) == (EntryKind.SPEND, -800, f"catalog.order:{order.pk}")
    assert balance(buyer) == 1200
    product.refresh_from_db()
    assert (product.stock, product.sold) == (8, 2)
    movement = StockMovement.objects.get(product=product)
    assert (movement.delta, movement.stock_after, movement.reason, movement.order_id) == (
        -2,
        8,
        StockReason.REDEMPTION,
        order.pk,
    )
    assert statuses(order) == [("", OrderStatus.APPROVED)]


def test_the_same_idempotency_key_twice_is_one_redemption(buyer, make_product, make_address):
    product = make_product()
    address_id = make_address(buyer)
    first = redeem(buyer, product, key="double-click", address_id=address_id)
    second = redeem(buyer, product, key="double-click", address_id=address_id)
    assert second.pk == first.pk
    assert Order.objects.count() == 1
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == 1
    assert StockMovement.objects.count() == 1
    assert balance(buyer) == 1500


def test_tier_discount_and_sale_price_arithmetic(make_buyer, make_product, make_address):
    gold = make_buyer(0)
    # Earned (not adjusted) points qualify for tiers: 5000 reaches Gold, which pays 85%.
    points_services.points_earn(user_id=gold.pk, amount=5000, idempotency_key="gold-earn")
    assert points_selectors.member_tier(user_id=gold.pk).price_percent == 85
    product = make_product(points_price=500)
    SalePrice.objects.create(
        product=product, points_price=400, starts_at=T0 - timedelta(days=1), ends_at=T0 + timedelta(days=1)
    )

    quote = services.redemption_quote(user_id=gold.pk, product_id=product.pk, quantity=3)
    assert (quote.price.list_points, quote.price.unit_points, quote.price.regular_points) == (400, 340, 500)
    assert (quote.price.saved_per_unit, quote.price.on_sale) == (60, True)
    assert (quote.points_total, quote.points_saved) == (1020, 180)

    order = redeem(gold, product, 3, address_id=make_address(gold))
    assert (order.unit_points, order.points_total, order.points_saved) == (340, 1020, 180)
    assert balance(gold) == 3980


def test_tier_price_rounds_down_and_never_below_one_point(make_buyer, make_product):
    gold = make_buyer(0)
    points_services.points_earn(user_id=gold.pk, amount=5000, idempotency_key="gold-earn")
    odd = make_product(points_price=333)
    tiny = make_product(points_price=1)
    assert services.redemption_quote(user_id=gold.pk, product_id=odd.pk, quantity=1).price.unit_points == 283
    assert services.redemption_quote(user_id=gold.pk, product_id=tiny.pk, quantity=1).price.unit_points == 1


def test_a_sale_price_applies_only_inside_its_window(buyer, make_product, clock):
    product = make_product(points_price=500)
    SalePrice.objects.create(product=product, points_price=400, starts_at=T0, ends_at=T0 + timedelta(hours=1))
    assert services.redemption_quote(user_id=buyer.pk, product_id=product.pk, quantity=1).price.unit_points == 400
    clock.move_to(T0 + timedelta(hours=1))
    assert services.redemption_quote(user_id=buyer.pk, product_id=product.pk, quantity=1).price.unit_points == 500


@pytest.mark.parametrize(
    ("kind", "cash", "review", "expected"),
    [
        (ProductKind.PHYSICAL, "0", False, OrderStatus.APPROVED),
        (ProductKind.PHYSICAL, "0", True, OrderStatus.PENDING_REVIEW),
        (ProductKind.VIRTUAL, "0", False, OrderStatus.COMPLETED),
        (ProductKind.VIRTUAL, "0", True, OrderStatus.PENDING_REVIEW),
        (ProductKind.COUPON, "0", False, OrderStatus.COMPLETED),
        (ProductKind.PRIVILEGE, "0", False, OrderStatus.COMPLETED),
        (ProductKind.PHYSICAL, "9.90", False, OrderStatus.AWAITING_PAYMENT),
        (ProductKind.VIRTUAL, "9.90", True, OrderStatus.AWAITING_PAYMENT),
    ],
)
def test_first_status_by_kind_cash_and_review(
    kind, cash, review, expected, buyer, make_product, make_codes, make_address
):
    product = make_product(
        kind=kind,
        cash_price=Decimal(cash),
        requires_review=review,
        stock=0
        if kind
        in (
            ProductKind.VIRTUAL,
            ProductKind.COUPON,
        )
        else 10,
    )
    if product.needs_code:
        make_codes(product, 2)
    address_id = make_address(buyer) if kind == ProductKind.PHYSICAL else None
    order = redeem(buyer, product, address_id=address_id)
    order.refresh_from_db()
    assert order.status == expected
    assert order.cash_total == Decimal(cash)
    assert order.pay_by == (T0 + timedelta(minutes=15) if expected == OrderStatus.AWAITING_PAYMENT else None)
    assert statuses(order) == [("", expected)]


def test_a_virtual_item_gets_one_code_from_the_pool(buyer, make_product, make_codes):
    product = make_product(kind=ProductKind.VIRTUAL, stock=0)
    codes = make_codes(product, 3)
    order = redeem(buyer, product)
    code = Code.objects.get(order=order)
    assert (code.code, code.assigned_at, code.valid_until) == (codes[0], T0, None)
    assert Code.objects.filter(product=product, order__isnull=True).count() == 2


def test_a_coupon_is_valid_for_its_days_from_redemption(buyer, make_product, make_codes):
    product = make_product(kind=ProductKind.COUPON, stock=0, coupon_valid_days=7)
    make_codes(product, 1)
    order = redeem(buyer, product)
    assert Code.objects.get(order=order).valid_until == T0 + timedelta(days=7)


# --- Refusals: each leaves nothing behind ----------------------------------------------------


def test_an_item_off_the_shelf_is_refused(buyer, make_product, nothing_written):
    product = make_product(on_shelf=False)
    with (
        nothing_written(),
        pytest.raises(ProductUnavailableError, match=r"^This item is not available for redemption\.$"),
    ):
        redeem(buyer, product)


def test_an_item_in_a_hidden_category_is_refused(buyer, make_product, nothing_written):
    """The service itself refuses it, not only the product page (rules.redeemable)."""
    product = make_product()
    product.category.active = False
    product.category.save(update_fields=["active"])
    with (
        nothing_written(),
        pytest.raises(ProductUnavailableError, match=r"^This item is not available for redemption\.$"),
    ):
        redeem(buyer, product)


def test_an_unknown_product_is_refused(buyer, make_product, nothing_written):
    product = make_product()
    product.pk += 1000
    with nothing_written(), pytest.raises(ProductUnavailableError):
        redeem(buyer, product)


def test_the_sale_window_starts_at_its_first_instant(buyer, make_product, make_address, clock, nothing_written):
    product = make_product(sale_starts_at=T0 + timedelta(hours=2), sale_ends_at=T0 + timedelta(days=1))
    address_id = make_address(buyer)
    clock.move_to(T0 + timedelta(hours=2) - timedelta(microseconds=1))
    with (
        nothing_written(),
        pytest.raises(SaleNotStartedError, match=r"^This item can be redeemed from 2025-03-10 14:00\.$"),
    ):
        redeem(buyer, product, address_id=address_id)
    clock.move_to(T0 + timedelta(hours=2))
    assert redeem(buyer, product, address_id=address_id).status == OrderStatus.APPROVED


def test_the_sale_window_ends_before_its_last_instant(buyer, make_product, make_address, clock, nothing_written):
    product = make_product(sale_starts_at=T0 - timedelta(days=1), sale_ends_at=T0 + timedelta(hours=1))
    address_id = make_address(buyer)
    clock.move_to(T0 + timedelta(hours=1) - timedelta(microseconds=1))
    assert redeem(buyer, product, address_id=address_id).status == OrderStatus.APPROVED
    clock.move_to(T0 + timedelta(hours=1))
    with nothing_written(), pytest.raises(SaleEndedError, match=r"^This item's redemption period has ended\.$"):
        redeem(buyer, product, address_id=address_id)


def test_a_tier_exclusive_item_is_refused_below_the_tier(buyer, make_product, make_address, nothing_written):
    product = make_product(min_tier_rank=2)
    with nothing_written(), pytest.raises(TierRequiredError, match=r"^This item is for Gold members and above\.$"):
        redeem(buyer, product, address_id=make_address(buyer))


def test_a_tier_exclusive_item_is_sold_to_the_tier(make_buyer, make_product, make_address):
    gold = make_buyer(0)
    points_services.points_earn(user_id=gold.pk, amount=5000, idempotency_key="gold-earn")
    product = make_product(min_tier_rank=2)
    assert redeem(gold, product, address_id=make_address(gold)).status == OrderStatus.APPROVED


@pytest.mark.parametrize("quantity", [0, -1, 6])
def test_a_quantity_outside_one_to_the_order_limit_is_refused(
    quantity, buyer, make_product, make_address, nothing_written
):
    product = make_product(per_order_limit=5)
    with (
        nothing_written(),
        pytest.raises(InvalidQuantityError, match=r"^You can redeem 1 to 5 of this item per order\.$"),
    ):
        redeem(buyer, product, quantity, address_id=make_address(buyer))


def test_the_daily_limit_resets_at_midnight_in_shanghai_not_utc(
    buyer, make_product, make_address, clock, nothing_written
):
    product = make_product(per_day_limit=1)
    address_id = make_address(buyer)
    last_instant = datetime(2025, 3, 10, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    clock.move_to(last_instant - timedelta(minutes=1))
    redeem(buyer, product, address_id=address_id)
    clock.move_to(last_instant)
    with (
        nothing_written(),
        pytest.raises(
            DailyLimitReachedError, match=r"^You can redeem this 1 time\(s\) a day; you have 0 left today\.$"
        ),
    ):
        redeem(buyer, product, address_id=address_id)
    # Local midnight is 16:00 UTC: still 10 March in UTC, already the next business day here.
    clock.move_to(datetime(2025, 3, 11, 0, 0, tzinfo=SHANGHAI))
    assert redeem(buyer, product, address_id=address_id).status == OrderStatus.APPROVED


def test_the_daily_limit_counts_quantities(buyer, make_product, make_address, nothing_written):
    product = make_product(per_day_limit=3)
    address_id = make_address(buyer)
    redeem(buyer, product, 2, address_id=address_id)
    with (
        nothing_written(),
        pytest.raises(
            DailyLimitReachedError, match=r"^You can redeem this 3 time\(s\) a day; you have 1 left today\.$"
        ),
    ):
        redeem(buyer, product, 2, address_id=address_id)
    assert redeem(buyer, product, 1, address_id=address_id).quantity == 1


def test_the_lifetime_limit_counts_every_order_but_cancelled_ones(
    buyer, make_product, make_address, clock, nothing_written
):
    product = make_product(lifetime_limit=2)
    address_id = make_address(buyer)
    first = redeem(buyer, product, 2, address_id=address_id)
    clock.move_to(T0 + timedelta(days=200))
    with (
        nothing_written(),
        pytest.raises(
            LifetimeLimitReachedError, match=r"^You can redeem this 2 time\(s\) in total; you have 0 left\.$"
        ),
    ):
        redeem(buyer, product, address_id=address_id)
    services.order_cancel(order_id=first.pk, member_id=buyer.pk, actor_id=buyer.pk)
    assert redeem(buyer, product, 2, address_id=address_id).status == OrderStatus.APPROVED


def test_an_order_above_the_points_cap_is_refused(buyer, make_product, make_address, settings, nothing_written):
    settings.CATALOG_ORDER_CAP_POINTS = 1000
    product = make_product(points_price=600)
    address_id = make_address(buyer)
    with nothing_written(), pytest.raises(OrderCapExceededError, match=r"^One order can use at most 1000 points\.$"):
        redeem(buyer, product, 2, address_id=address_id)
    assert redeem(buyer, product, 1, address_id=address_id).points_total == 600


def test_not_enough_points_says_how_many(make_buyer, make_product, make_address, nothing_written):
    poor = make_buyer(320)
    product = make_product(points_price=500)
    with (
        nothing_written(),
        pytest.raises(InsufficientPointsError, match=r"^Not enough points: you have 320, this needs 500\.$"),
    ):
        redeem(poor, product, address_id=make_address(poor))


def test_more_than_the_stock_says_how_many_are_left(buyer, make_product, make_address, nothing_written):
    product = make_product(stock=2)
    with nothing_written(), pytest.raises(OutOfStockError, match=r"^Only 2 left\.$"):
        redeem(buyer, product, 3, address_id=make_address(buyer))


def test_a_sold_out_item_is_refused(buyer, make_product, make_address, nothing_written):
    product = make_product(stock=0)
    with nothing_written(), pytest.raises(SoldOutError, match=r"^Sold out\.$"):
        redeem(buyer, product, address_id=make_address(buyer))


def test_a_virtual_item_without_free_codes_is_refused(buyer, make_product, make_codes, nothing_written):
    product = make_product(kind=ProductKind.VIRTUAL, stock=0)
    make_codes(product, 1)
    redeem(buyer, product)
    # Stock that no code backs (a manual correction): the empty pool still refuses.
    product.__class__.objects.filter(pk=product.pk).update(stock=1)
    with nothing_written(), pytest.raises(NoCodesLeftError, match=r"^This item is out of codes at the moment\.$"):
        redeem(buyer, product)


def test_a_wrong_pin_is_counted_and_nothing_else_is_written(buyer, make_product, make_address, nothing_written):
    product = make_product()
    address_id = make_address(buyer)
    with (
        nothing_written(pins_may_change=True),
        pytest.raises(PinIncorrectError, match=r"^Wrong PIN\. 4 attempts left before PIN use is locked\.$"),
    ):
        redeem(buyer, product, pin=WRONG_PIN, address_id=address_id)
    assert accounts_selectors.pin_status(user_id=buyer.pk).failed_attempts == 1


def test_a_locked_pin_refuses_even_the_right_pin(buyer, make_product, make_address, nothing_written):
    product = make_product()
    address_id = make_address(buyer)
    for _attempt in range(4):
        with pytest.raises(PinIncorrectError):
            redeem(buyer, product, pin=WRONG_PIN, address_id=address_id)
    with pytest.raises(PinLockedError):
        redeem(buyer, product, pin=WRONG_PIN, address_id=address_id)
    with nothing_written(), pytest.raises(PinLockedError, match=r"Try again in 15 minutes\.$"):
        redeem(buyer, product, pin=PIN, address_id=address_id)
    assert Order.objects.count() == 0


def test_a_member_without_a_pin_is_refused(fund, make_product, make_address, nothing_written):
    member = MemberFactory()
    fund(member, 2000)
    product = make_product()
    with nothing_written(), pytest.raises(PinNotSetError, match=r"^You have not set a payment PIN yet\.$"):
        redeem(member, product, address_id=make_address(member))


def test_a_physical_item_needs_an_address(buyer, make_product, nothing_written):
    product = make_product(kind=ProductKind.PHYSICAL)
    with nothing_written(), pytest.raises(AddressRequiredError, match=r"^Choose a shipping address for this item\.$"):
        redeem(buyer, product)


def test_another_members_address_is_not_found(buyer, other_member, make_product, make_address, nothing_written):
    product = make_product()
    theirs = make_address(other_member)
    with nothing_written(), pytest.raises(AddressNotFoundError):
        redeem(buyer, product, address_id=theirs)


def test_the_same_key_for_another_product_or_member_is_a_conflict(
    buyer, make_buyer, make_product, make_address, nothing_written
):
    first, second = make_product(), make_product()
    redeem(buyer, first, key="k-1", address_id=make_address(buyer))
    other = make_buyer()
    with nothing_written(), pytest.raises(RequestConflictError, match=r"^This request was already used"):
        redeem(buyer, second, key="k-1", address_id=make_address(buyer))
    with nothing_written(), pytest.raises(RequestConflictError):
        redeem(buyer, first, 2, key="k-1")
    with nothing_written(), pytest.raises(RequestConflictError):
        redeem(other, first, key="k-1", address_id=make_address(other))


# --- Cancellation, rejection and the rest of the life cycle ----------------------------------


def test_cancelling_refunds_into_the_original_lots_returns_stock_and_releases_the_code(
    make_buyer, fund, make_product, make_codes, clock
):
    member = make_buyer(300)
    clock.move_to(T0 + timedelta(days=40))
    fund(member, 300)
    early, late = points_selectors.lots(user_id=member.pk)
    product = make_product(kind=ProductKind.VIRTUAL, stock=0, requires_review=True, points_price=500)
    make_codes(product, 1)
    order = redeem(member, product)
    assert [(lot.id, lot.remaining) for lot in points_selectors.lots(user_id=member.pk, include_empty=True)] == [
        (early.id, 0),
        (late.id, 100),
    ]
    assert Code.objects.get(product=product).order_id == order.pk

    services.order_cancel(order_id=order.pk, member_id=member.pk, actor_id=member.pk, reason="changed my mind")

    assert [(lot.id, lot.remaining) for lot in points_selectors.lots(user_id=member.pk)] == [
        (early.id, 300),
        (late.id, 300),
    ]
    refund = Entry.objects.get(kind=EntryKind.REFUND)
    assert (refund.amount, refund.related_entry_id) == (500, order.spend_entry_id)
    assert sorted(LotMovement.objects.filter(entry=refund).values_list("lot_id", "amount")) == [
        (early.id, 300),
        (late.id, 200),
    ]
    assert balance(member) == 600
    product.refresh_from_db()
    assert (product.stock, product.sold) == (1, 0)
    returned = StockMovement.objects.get(reason=StockReason.RETURN)
    assert (returned.delta, returned.stock_after, returned.order_id, returned.note) == (
        1,
        1,
        order.pk,
        "changed my mind",
    )
    code = Code.objects.get(product=product)
    assert (code.order_id, code.assigned_at, code.valid_until) == (None, None, None)
    assert statuses(order) == [("", OrderStatus.PENDING_REVIEW), (OrderStatus.PENDING_REVIEW, OrderStatus.CANCELLED)]


def test_a_cancelled_order_cannot_be_cancelled_again(buyer, make_product, make_address, nothing_written):
    order = redeem(buyer, make_product(), address_id=make_address(buyer))
    services.order_cancel(order_id=order.pk, member_id=buyer.pk)
    with (
        nothing_written(),
        pytest.raises(
            InvalidTransitionError, match=r"^This order can't be cancelled in its current state \(Cancelled\)\.$"
        ),
    ):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk)


def test_a_member_cannot_cancel_another_members_order(buyer, other_member, make_product, make_address, nothing_written):
    order = redeem(buyer, make_product(), address_id=make_address(buyer))
    with nothing_written(), pytest.raises(OrderNotFoundError):
        services.order_cancel(order_id=order.pk, member_id=other_member.pk)


def test_rejecting_needs_a_reason_and_refunds(buyer, operator, make_product, make_address, nothing_written):
    product = make_product(requires_review=True, stock=3)
    order = redeem(buyer, product, 2, address_id=make_address(buyer))
    with nothing_written(), pytest.raises(ReasonRequiredError):
        services.order_reject(order_id=order.pk, actor_id=operator.pk, reason="  ")
    services.order_reject(order_id=order.pk, actor_id=operator.pk, reason="address outside delivery area")
    order.refresh_from_db()
    assert (order.status, order.reject_reason) == (OrderStatus.REJECTED, "address outside delivery area")
    assert balance(buyer) == 2000
    product.refresh_from_db()
    assert (product.stock, product.sold) == (3, 0)
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.to_status, event.actor_id, event.note) == (
        OrderStatus.REJECTED,
        operator.pk,
        "address outside delivery area",
    )


def test_shipping_then_the_member_confirms_receipt(buyer, other_member, operator, make_product, make_address):
    order = redeem(buyer, make_product(), address_id=make_address(buyer))
    with pytest.raises(InvalidTransitionError):
        services.order_confirm_receipt(order_id=order.pk, member_id=buyer.pk)
    services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF Express", tracking_number="SF123")
    with pytest.raises(OrderNotFoundError):
        services.order_confirm_receipt(order_id=order.pk, member_id=other_member.pk)
    services.order_confirm_receipt(order_id=order.pk, member_id=buyer.pk)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == (OrderStatus.COMPLETED, "SF Express", "SF123")
    assert statuses(order) == [
        ("", OrderStatus.APPROVED),
        (OrderStatus.APPROVED, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
        (OrderStatus.DELIVERED, OrderStatus.COMPLETED),
    ]


def test_a_shipped_order_can_no_longer_be_cancelled(buyer, operator, make_product, make_address, nothing_written):
    order = redeem(buyer, make_product(), address_id=make_address(buyer))
    services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF Express", tracking_number="SF1")
    with nothing_written(), pytest.raises(InvalidTransitionError, match=r"can't be cancelled .*\(Shipped\)"):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk)


def test_confirming_payment_moves_the_order_on_once(buyer, make_product, make_address, nothing_written):
    product = make_product(cash_price=Decimal("19.90"))
    order = redeem(buyer, product, address_id=make_address(buyer))
    paid = services.order_mark_paid(order_id=order.pk, payment_reference="ref-1")
    assert (paid.status, paid.paid_at, paid.payment_reference) == (OrderStatus.APPROVED, T0, "ref-1")
    with nothing_written():
        again = services.order_mark_paid(order_id=order.pk, payment_reference="ref-1")
    assert (again.status, again.paid_at) == (OrderStatus.APPROVED, T0)
    with nothing_written(), pytest.raises(InvalidTransitionError):
        services.order_mark_paid(order_id=order.pk, payment_reference="ref-2")
    assert statuses(order) == [("", OrderStatus.AWAITING_PAYMENT), (OrderStatus.AWAITING_PAYMENT, OrderStatus.APPROVED)]


def test_a_paid_virtual_item_that_needs_review_waits_for_review(buyer, make_product, make_codes):
    product = make_product(kind=ProductKind.VIRTUAL, stock=0, cash_price=Decimal("5.00"), requires_review=True)
    make_codes(product, 1)
    order = redeem(buyer, product)
    paid = services.order_mark_paid(order_id=order.pk, payment_reference="ref-1")
    assert paid.status == OrderStatus.PENDING_REVIEW


def test_a_paid_virtual_item_completes(buyer, make_product, make_codes):
    product = make_product(kind=ProductKind.VIRTUAL, stock=0, cash_price=Decimal("5.00"))
    make_codes(product, 1)
    order = redeem(buyer, product)
    assert services.order_mark_paid(order_id=order.pk, payment_reference="ref-1").status == OrderStatus.COMPLETED


def test_an_unpaid_order_is_cancelled_and_refunded_when_its_time_runs_out(buyer, make_product, make_address, clock):
    product = make_product(cash_price=Decimal("9.90"), stock=4)
    order = redeem(buyer, product, 2, address_id=make_address(buyer))
    assert balance(buyer) == 1000
    clock.move_to(T0 + timedelta(minutes=15) - timedelta(microseconds=1))
    assert services.orders_cancel_unpaid() == 0
    clock.move_to(T0 + timedelta(minutes=15))
    assert services.orders_cancel_unpaid() == 1
    assert services.orders_cancel_unpaid() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert balance(buyer) == 2000
    product.refresh_from_db()
    assert (product.stock, product.sold) == (4, 0)
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, event.actor_id, event.note) == (
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.CANCELLED,
        None,
        "catalog.payment_timeout",
    )
    # The note is the mall's, stored as a code: each member reads it in their own language.
    with translation.override("zh-hans"):
        assert [e.note for e in selectors.order_detail(member_id=buyer.pk, order_id=order.pk).events][
            -1
        ] == "超时未支付"
    assert [e.note for e in selectors.order_detail(member_id=buyer.pk, order_id=order.pk).events][-1] == (
        "Payment not received in time"
    )


def test_the_timeout_sweep_leaves_a_paid_order_alone(buyer, make_product, make_address, clock):
    from catalog.services.orders import _cancel_if_unpaid

    order = redeem(buyer, make_product(cash_price=Decimal("9.90")), address_id=make_address(buyer))
    services.order_mark_paid(order_id=order.pk, payment_reference="ref-1")
    clock.move_to(T0 + timedelta(hours=1))
    # As if the sweep had listed the order just before the payment landed.
    assert _cancel_if_unpaid(order_id=order.pk, now=T0 + timedelta(hours=1)) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    assert balance(buyer) == 1500
