"""Redemption under real concurrency on Postgres: no oversell, no code given twice, no double charge.

Threads have their own database connections (at most 40 at once: Postgres allows about
100), wait at a barrier until every worker is connected, then race for the same rows.
Every scenario ends with exact counts and the ledger's invariants (``points_verify``).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.test import Client

from accounts import services as accounts_services
from accounts.models import PaymentPin, User
from accounts.pin_hash import pin_hash_make
from catalog import flash_gate, services
from catalog.enums import OrderStatus, ProductKind, StockReason
from catalog.exceptions import InvalidTransitionError, NoCodesLeftError, OutOfStockError, SoldOutError
from catalog.models import Code, Order, Product, StockMovement
from points import selectors as points_selectors
from points import services as points_services
from points.confirmation import Totals
from points.enums import EntryKind
from points.models import Entry
from tests import concurrency
from tests.catalog.conftest import PIN

# No serialized_rollback: nothing here needs the migrations' data rows (tiers, groups), and
# restoring them before every test would cost more than the scenarios themselves.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MAX_WORKERS = 40
WAITING_FOR_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
PRICE = 100


def run_parallel(calls: list[Callable[[], object]], workers: int = MAX_WORKERS) -> list[object]:
    return concurrency.run_parallel(calls, workers)


@pytest.fixture
def make_buyers(operator) -> Callable[[int, int], list[User]]:
    """``n`` members, each with the payment PIN and ``points`` points.

    Users and PINs are plain rows, made in bulk; points only come from the ledger's services,
    called on parallel connections.
    """

    def make(n: int, points: int) -> list[User]:
        batch = uuid.uuid4().hex[:8]
        users = User.objects.bulk_create(
            [User(email=f"buyer-{batch}-{index}@example.com", password=make_password(None)) for index in range(n)]
        )
        PaymentPin.objects.bulk_create(
            [PaymentPin(user_id=user.pk, pin_hash=pin_hash_make(user_id=user.pk, pin=PIN)) for user in users]
        )

        def fund(user: User) -> None:
            points_services.account_open(user_id=user.pk)
            points_services.points_adjust(
                user_id=user.pk,
                amount=points,
                reason="test funds",
                actor_id=operator.pk,
                idempotency_key=f"fund:{user.pk}",
            )

        outcomes = run_parallel([lambda user=user: fund(user) for user in users])
        assert outcomes == [None] * n, [o for o in outcomes if o is not None][:3]
        return users

    return make


def redeem_call(user: User, product: Product, key: str | None = None) -> Callable[[], Order]:
    return lambda: services.order_redeem(
        user_id=user.pk,
        product_id=product.pk,
        quantity=1,
        idempotency_key=key or f"race:{user.pk}:{product.pk}",
        pin=PIN,
    )


def assert_exactly_sold(product: Product, buyers: list[User], results: list[object], stock: int) -> list[Order]:
    """Exactly ``stock`` orders; every other buyer was refused as sold out and charged nothing."""
    orders = [r for r in results if isinstance(r, Order)]
    refusals = [r for r in results if not isinstance(r, Order)]
    assert len(orders) == stock
    # An empty code pool is "sold out" too: SKIP LOCKED passes over codes that others are taking.
    assert Counter(type(r) for r in refusals).keys() <= {SoldOutError, OutOfStockError, NoCodesLeftError}, refusals[:3]
    assert len(refusals) == len(buyers) - stock
    product.refresh_from_db()
    assert (product.stock, product.sold) == (0, stock)
    assert Order.objects.filter(product=product).count() == stock
    movements = StockMovement.objects.filter(product=product, reason=StockReason.REDEMPTION)
    assert sorted(movements.values_list("delta", flat=True)) == [-1] * stock
    assert sorted(movements.values_list("stock_after", flat=True)) == list(range(stock))
    winners = {order.member_id for order in orders}
    for buyer in buyers:
        expected = 0 if buyer.pk in winners else PRICE
        assert points_selectors.spendable_balance(user_id=buyer.pk) == expected
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == stock
    report = points_services.points_verify()
    assert report.ok, report
    return orders


@pytest.mark.parametrize("stock", [1, 10, 100])
def test_ten_times_more_buyers_than_stock_buy_exactly_the_stock(stock, make_product, make_buyers):
    product = make_product(kind=ProductKind.PRIVILEGE, points_price=PRICE, stock=stock, per_order_limit=1)
    buyers = make_buyers(10 * stock, PRICE)
    results = run_parallel([redeem_call(buyer, product) for buyer in buyers])
    assert_exactly_sold(product, buyers, results, stock)


def test_a_code_pool_never_gives_a_code_twice(make_product, make_codes, make_buyers):
    stock = 10
    product = make_product(kind=ProductKind.VIRTUAL, points_price=PRICE, stock=0, per_order_limit=1)
    make_codes(product, stock)
    buyers = make_buyers(10 * stock, PRICE)
    results = run_parallel([redeem_call(buyer, product) for buyer in buyers])
    orders = assert_exactly_sold(product, buyers, results, stock)
    given = list(Code.objects.filter(product=product).values_list("order_id", flat=True))
    assert None not in given
    assert sorted(given) == sorted(order.pk for order in orders)
    assert {order.status for order in orders} == {OrderStatus.COMPLETED}


def test_the_same_redemption_post_sent_ten_times_at_once_is_one_order(make_product, make_buyers):
    product = make_product(kind=ProductKind.PRIVILEGE, points_price=PRICE, stock=5)
    (buyer,) = make_buyers(1, 3 * PRICE)
    # What the confirmation page puts in its form: the key and the signed totals it showed.
    confirmation = services.redemption_confirmation_sign(
        user_id=buyer.pk, product_id=product.pk, quantity=1, totals=Totals(points=PRICE)
    )
    form = {"quantity": "1", "pin": PIN, "idempotency_key": uuid.uuid4().hex, "confirmation": confirmation}
    url = f"/mall/products/{product.pk}/redeem/"
    clients = []
    for _copy in range(10):
        client = Client()
        client.force_login(buyer)
        clients.append(client)

    responses = run_parallel([lambda c=c: c.post(url, form) for c in clients])

    (order,) = Order.objects.filter(product=product)
    placed = f"/mall/orders/{order.pk}/?placed=1"
    # Each copy reaches the order, or is told "busy, try again" at once by admission control
    # (ADMISSION_REDEEM_SLOTS places, docs/decisions/0044); trying again then reaches the same order.
    answers = [(r.status_code, r.url if r.status_code == 302 else r.headers.get("Retry-After")) for r in responses]
    assert (302, placed) in answers
    assert all(answer == (302, placed) or (answer[0] == 503 and answer[1]) for answer in answers), answers
    for client, response in zip(clients, responses, strict=True):
        if response.status_code == 503:
            retried = client.post(url, form)
            assert (retried.status_code, retried.url) == (302, placed)
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == 1
    assert points_selectors.spendable_balance(user_id=buyer.pk) == 2 * PRICE
    product.refresh_from_db()
    assert (product.stock, product.sold) == (4, 1)
    assert points_services.points_verify().ok


def test_cancel_and_ship_of_the_same_order_at_once_exactly_one_wins(make_product, make_buyers, operator):
    product = make_product(points_price=PRICE, stock=10)
    buyers = make_buyers(10, PRICE)
    orders = []
    for buyer in buyers:
        address_id = accounts_services.address_create(
            user_id=buyer.pk,
            recipient="李雷",
            phone="13900139000",
            province="北京市",
            city="北京市",
            detail="长安街 1 号",
        ).id
        orders.append(
            services.order_redeem(
                user_id=buyer.pk,
                product_id=product.pk,
                quantity=1,
                idempotency_key=f"ship-or-cancel:{buyer.pk}",
                pin=PIN,
                address_id=address_id,
            )
        )
    calls = []
    for order in orders:
        calls.append(lambda o=order: services.order_cancel(order_id=o.pk, member_id=o.member_id, actor_id=o.member_id))
        calls.append(
            lambda o=order: services.order_ship(
                order_id=o.pk, actor_id=operator.pk, carrier="SF Express", tracking_number=f"SF{o.pk}"
            )
        )

    results = run_parallel(calls)

    cancelled = 0
    for index, order in enumerate(orders):
        cancel, ship = results[2 * index], results[2 * index + 1]
        assert [isinstance(r, Order) for r in (cancel, ship)].count(True) == 1
        assert isinstance(cancel if isinstance(ship, Order) else ship, InvalidTransitionError)
        order.refresh_from_db()
        balance = points_selectors.spendable_balance(user_id=order.member_id)
        if isinstance(cancel, Order):
            cancelled += 1
            assert (order.status, balance) == (OrderStatus.CANCELLED, PRICE)
        else:
            assert (order.status, balance) == (OrderStatus.SHIPPED, 0)
    product.refresh_from_db()
    assert (product.stock, product.sold) == (cancelled, 10 - cancelled)
    assert StockMovement.objects.filter(product=product, reason=StockReason.RETURN).count() == cancelled
    assert points_services.points_verify().ok


def test_a_payment_landing_while_the_timeout_sweep_waits_is_not_cancelled(make_product, make_buyers):
    """The sweep lists an unpaid order, then the payment commits first: the sweep must leave it alone."""
    # Physical: once paid it is "approved", a status a plain cancellation would still accept.
    product = make_product(points_price=PRICE, cash_price=Decimal("9.90"), kind=ProductKind.PHYSICAL, stock=3)
    (buyer,) = make_buyers(1, PRICE)
    address_id = accounts_services.address_create(
        user_id=buyer.pk,
        recipient="韩梅梅",
        phone="13700137000",
        province="广东省",
        city="深圳市",
        detail="深南大道 1 号",
    ).id
    order = services.order_redeem(
        user_id=buyer.pk, product_id=product.pk, quantity=1, idempotency_key="k", pin=PIN, address_id=address_id
    )
    due = order.pay_by
    paid_not_committed, commit_now = threading.Event(), threading.Event()

    def pay() -> object:
        with transaction.atomic():
            services.order_mark_paid(order_id=order.pk, payment_reference="ref-race")
            paid_not_committed.set()
            assert commit_now.wait(timeout=30)
        return "paid"

    def sweep() -> object:
        assert paid_not_committed.wait(timeout=30)
        return services.orders_cancel_unpaid(now=due)

    def release_when_the_sweep_waits() -> object:
        assert paid_not_committed.wait(timeout=30)
        for _poll in range(3000):
            with connection.cursor() as cursor:
                cursor.execute(WAITING_FOR_A_LOCK)
                if cursor.fetchone()[0]:
                    break
            commit_now.wait(timeout=0.01)
        else:
            raise AssertionError("the sweep never waited for the order lock")
        commit_now.set()
        return "released"

    results = run_parallel([pay, sweep, release_when_the_sweep_waits])

    assert results == ["paid", 0, "released"]
    order.refresh_from_db()
    assert (order.status, order.payment_reference) == (OrderStatus.APPROVED, "ref-race")
    assert points_selectors.spendable_balance(user_id=buyer.pk) == 0
    product.refresh_from_db()
    assert product.stock == 2
    assert points_services.points_verify().ok


@pytest.mark.redis
@pytest.mark.parametrize("counter_start", ["from the database", "stale and too high"])
def test_the_flash_gate_path_never_oversells(counter_start, make_product, make_buyers):
    stock = 10
    product = make_product(
        kind=ProductKind.PRIVILEGE, points_price=PRICE, stock=stock, per_order_limit=1, flash_sale=True
    )
    gate = flash_gate.client()
    if counter_start == "stale and too high":
        # The gate only sheds load: even a counter that lets everyone through cannot oversell.
        gate.set(flash_gate.key_for(product.pk), 10 * stock, ex=60)
    buyers = make_buyers(10 * stock, PRICE)
    results = run_parallel([redeem_call(buyer, product) for buyer in buyers])
    assert_exactly_sold(product, buyers, results, stock)
    left = int(gate.get(flash_gate.key_for(product.pk)))
    assert left == (0 if counter_start == "from the database" else 9 * stock)
