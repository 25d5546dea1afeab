"""The flash-sale Redis gate: it refuses a sold-out burst before the database, and never decides alone."""

from __future__ import annotations

import logging

import pytest
from django.core.management import CommandError, call_command

from catalog import flash_gate, services
from catalog.exceptions import OutOfStock, SoldOut
from catalog.models import Order, Product
from points import services as points_services
from points.exceptions import InsufficientPoints
from tests.catalog.conftest import PIN

redis_only = pytest.mark.redis


@pytest.fixture
def gate():
    connection = flash_gate.client()
    assert connection is not None
    return connection


@pytest.fixture
def flash_product(make_product) -> Product:
    return make_product(flash_sale=True, stock=5, per_order_limit=5, kind="privilege", points_price=100)


def counter(product: Product, gate) -> int | None:
    value = gate.get(flash_gate.key_for(product.pk))
    return None if value is None else int(value)


def redeem(buyer, product, quantity=1, *, key=None):
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=quantity,
        idempotency_key=key or f"flash-{buyer.pk}-{quantity}-{Order.objects.count()}",
        pin=PIN,
    )


@pytest.fixture(autouse=True)
def _ledger_invariants_hold(db):
    yield
    assert points_services.points_verify().ok


@redis_only
def test_the_counter_starts_at_the_database_stock_and_follows_redemptions(buyer, flash_product, gate):
    assert counter(flash_product, gate) is None
    redeem(buyer, flash_product, 2)
    assert counter(flash_product, gate) == 3
    flash_product.refresh_from_db()
    assert flash_product.stock == 3
    assert 0 < gate.ttl(flash_gate.key_for(flash_product.pk)) <= flash_gate.DEFAULT_TTL_SECONDS


@redis_only
def test_an_empty_counter_refuses_without_any_database_work(flash_product, gate, django_assert_num_queries):
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    with django_assert_num_queries(0), pytest.raises(SoldOut, match=r"^Sold out\.$"):
        flash_gate.take(product_id=flash_product.pk, quantity=1)
    assert counter(flash_product, gate) == 0


@redis_only
def test_a_redemption_refused_by_the_gate_writes_nothing(buyer, flash_product, gate, nothing_written):
    # The database still has 5: only the gate can be the one saying no here.
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    with nothing_written(), pytest.raises(SoldOut):
        redeem(buyer, flash_product)
    assert counter(flash_product, gate) == 0


@redis_only
def test_the_gate_says_how_many_are_left(buyer, flash_product, gate, nothing_written):
    gate.set(flash_gate.key_for(flash_product.pk), 2)
    with nothing_written(), pytest.raises(OutOfStock, match=r"^Only 2 left\.$"):
        redeem(buyer, flash_product, 3)
    assert counter(flash_product, gate) == 2


@redis_only
def test_a_failed_redemption_gives_its_units_back(make_buyer, flash_product, gate):
    poor = make_buyer(50)
    redeem(make_buyer(), flash_product)
    assert counter(flash_product, gate) == 4
    with pytest.raises(InsufficientPoints):
        redeem(poor, flash_product, 2)
    assert counter(flash_product, gate) == 4


@redis_only
def test_a_replayed_request_takes_no_units(buyer, flash_product, gate):
    first = redeem(buyer, flash_product, key="same")
    again = redeem(buyer, flash_product, key="same")
    assert again.pk == first.pk
    assert counter(flash_product, gate) == 4


@redis_only
def test_a_cancelled_order_puts_its_units_back_once_committed(
    make_buyer, make_product, gate, django_capture_on_commit_callbacks
):
    product = make_product(flash_sale=True, stock=3, requires_review=True, kind="privilege", points_price=100)
    buyer = make_buyer()
    order = redeem(buyer, product, 2)
    assert counter(product, gate) == 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.order_cancel(order_id=order.pk, member_id=buyer.pk)
    assert counter(product, gate) == 1
    for callback in callbacks:
        callback()
    assert counter(product, gate) == 3
    product.refresh_from_db()
    assert product.stock == 3


@redis_only
def test_a_product_that_is_not_a_flash_sale_has_no_counter(buyer, make_product, gate):
    product = make_product(kind="privilege", points_price=100, stock=2)
    redeem(buyer, product)
    assert counter(product, gate) is None


@redis_only
def test_an_unreachable_redis_lets_the_database_decide(buyer, flash_product, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING, logger="catalog.flash_gate"):
        order = redeem(buyer, flash_product)
    assert order.quantity == 1
    assert "Redis unavailable" in caplog.text


def test_without_redis_the_gate_is_off(buyer, flash_product, settings, django_assert_num_queries):
    settings.REDIS_URL = ""
    with django_assert_num_queries(0):
        held = flash_gate.take(product_id=flash_product.pk, quantity=1)
    assert held.active is False
    assert redeem(buyer, flash_product, 5).quantity == 5
    flash_product.refresh_from_db()
    assert flash_product.stock == 0


@redis_only
def test_reconcile_sets_counters_to_the_database_stock_and_drops_stale_ones(make_product, gate, capsys):
    drifted = make_product(flash_sale=True, stock=7)
    missing = make_product(flash_sale=True, stock=4)
    right = make_product(flash_sale=True, stock=2)
    no_longer_flash = make_product(flash_sale=False, stock=9)
    gate.set(flash_gate.key_for(drifted.pk), 1)
    gate.set(flash_gate.key_for(right.pk), 2)
    gate.set(flash_gate.key_for(no_longer_flash.pk), 3)

    call_command("flash_gate_reconcile")

    assert capsys.readouterr().out.splitlines() == [
        f"  product {drifted.pk}: 1 → 7",
        f"  product {missing.pk}: none → 4",
        f"  product {no_longer_flash.pk}: 3 → removed",
        "3 counter(s) changed.",
    ]
    assert [counter(p, gate) for p in (drifted, missing, right, no_longer_flash)] == [7, 4, 2, None]
    call_command("flash_gate_reconcile")
    assert capsys.readouterr().out.splitlines() == ["0 counter(s) changed."]


def test_reconcile_without_redis_says_why(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("flash_gate_reconcile")


@redis_only
def test_the_gate_admits_only_whole_requests(flash_product, gate):
    """Taking is atomic: a request for more than is left never dips the counter for others."""
    gate.set(flash_gate.key_for(flash_product.pk), 1)
    with pytest.raises(OutOfStock):
        flash_gate.take(product_id=flash_product.pk, quantity=2)
    held = flash_gate.take(product_id=flash_product.pk, quantity=1)
    assert (held.active, counter(flash_product, gate)) == (True, 0)
    held.release()
    held.release()
    assert counter(flash_product, gate) == 1
