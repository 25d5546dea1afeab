"""The flash-sale Redis gate: it refuses a sold-out burst before the database, and never decides alone."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import RequestFactory

from catalog import flash_gate, services
from catalog.admin.products import ProductAdmin
from catalog.exceptions import OutOfStockError, SoldOutError
from catalog.models import Order, Product
from points.exceptions import InsufficientPointsError
from tests.catalog.conftest import PIN

redis_only = pytest.mark.redis

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


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
    with django_assert_num_queries(0), pytest.raises(SoldOutError, match=r"^Sold out\.$"):
        flash_gate.take(product_id=flash_product.pk, quantity=1)
    assert counter(flash_product, gate) == 0


@redis_only
def test_a_redemption_refused_by_the_gate_writes_nothing(buyer, flash_product, gate, nothing_written):
    # The database still has 5: only the gate can be the one saying no here.
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    with nothing_written(), pytest.raises(SoldOutError):
        redeem(buyer, flash_product)
    assert counter(flash_product, gate) == 0


@redis_only
def test_the_gate_says_how_many_are_left(buyer, flash_product, gate, nothing_written):
    gate.set(flash_gate.key_for(flash_product.pk), 2)
    with nothing_written(), pytest.raises(OutOfStockError, match=r"^Only 2 left\.$"):
        redeem(buyer, flash_product, 3)
    assert counter(flash_product, gate) == 2


@redis_only
def test_a_failed_redemption_gives_its_units_back(make_buyer, flash_product, gate):
    poor = make_buyer(50)
    redeem(make_buyer(), flash_product)
    assert counter(flash_product, gate) == 4
    with pytest.raises(InsufficientPointsError):
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

    call_command("catalog_flash_gate_reconcile", "--dry-run")
    assert capsys.readouterr().out.splitlines()[-1] == "[dry run] 3 counter(s) would change."
    assert [counter(p, gate) for p in (drifted, missing, right, no_longer_flash)] == [1, None, 2, 3]

    call_command("catalog_flash_gate_reconcile")

    assert capsys.readouterr().out.splitlines() == [
        f"  product {drifted.pk}: 1 → 7",
        f"  product {missing.pk}: none → 4",
        f"  product {no_longer_flash.pk}: 3 → removed",
        "3 counter(s) changed.",
    ]
    assert [counter(p, gate) for p in (drifted, missing, right, no_longer_flash)] == [7, 4, 2, None]
    call_command("catalog_flash_gate_reconcile")
    assert capsys.readouterr().out.splitlines() == ["0 counter(s) changed."]


def test_reconcile_without_redis_says_why(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("catalog_flash_gate_reconcile")


@redis_only
def test_the_gate_admits_only_whole_requests(flash_product, gate):
    """Taking is atomic: a request for more than is left never dips the counter for others."""
    gate.set(flash_gate.key_for(flash_product.pk), 1)
    with pytest.raises(OutOfStockError):
        flash_gate.take(product_id=flash_product.pk, quantity=2)
    held = flash_gate.take(product_id=flash_product.pk, quantity=1)
    assert (held.active, counter(flash_product, gate)) == (True, 0)
    held.release()
    held.release()
    assert counter(flash_product, gate) == 1


# --- Every stock change moves the gate once it commits ----------------------------------------


def sell_out(product: Product, make_buyer) -> None:
    redeem(make_buyer(), product, product.stock)
    product.refresh_from_db()
    assert product.stock == 0


@redis_only
def test_after_a_restock_of_a_sold_out_flash_item_the_next_redemption_succeeds_at_once(
    make_buyer, flash_product, operator, gate, django_capture_on_commit_callbacks
):
    sell_out(flash_product, make_buyer)
    assert counter(flash_product, gate) == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.stock_adjust(product_id=flash_product.pk, delta=3, actor_id=operator.pk, restock=True) == 3
    assert counter(flash_product, gate) == 0  # not before the restock commits
    for callback in callbacks:
        callback()
    assert counter(flash_product, gate) == 3

    order = redeem(make_buyer(), flash_product)  # used to be "Sold out" for up to a minute

    assert order.quantity == 1
    assert counter(flash_product, gate) == 2
    flash_product.refresh_from_db()
    assert flash_product.stock == 2


@redis_only
def test_a_restock_that_rolls_back_leaves_the_gate_alone(flash_product, operator, gate):
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.stock_adjust(product_id=flash_product.pk, delta=3, actor_id=operator.pk, restock=True)
        raise RuntimeError("the operator's request failed after the restock")
    assert counter(flash_product, gate) == 0
    flash_product.refresh_from_db()
    assert flash_product.stock == 5


@redis_only
def test_after_a_correction_down_the_gate_refuses_without_the_database(
    make_buyer,
    flash_product,
    operator,
    gate,
    nothing_written,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    redeem(make_buyer(), flash_product)
    assert counter(flash_product, gate) == 4
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(product_id=flash_product.pk, delta=-4, actor_id=operator.pk, reason="Stocktake: 4 broken")
    assert counter(flash_product, gate) == 0
    with django_assert_num_queries(0), pytest.raises(SoldOutError):
        flash_gate.take(product_id=flash_product.pk, quantity=1)
    buyer = make_buyer()
    with nothing_written(), pytest.raises(SoldOutError):
        redeem(buyer, flash_product)


@redis_only
def test_a_partial_correction_down_leaves_exactly_what_is_left(
    make_buyer, flash_product, operator, gate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(product_id=flash_product.pk, delta=-3, actor_id=operator.pk, reason="Damaged")
    redeem(make_buyer(), flash_product)  # builds the counter from the database: 2, takes 1
    assert counter(flash_product, gate) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(product_id=flash_product.pk, delta=4, actor_id=operator.pk, restock=True)
    assert counter(flash_product, gate) == 5
    with pytest.raises(OutOfStockError, match=r"^Only 5 left\.$"):
        flash_gate.take(product_id=flash_product.pk, quantity=6)


@redis_only
def test_imported_codes_of_a_sold_out_flash_item_open_the_gate(
    make_product, make_codes, gate, django_capture_on_commit_callbacks
):
    product = make_product(kind="virtual", flash_sale=True, stock=0, points_price=100)
    gate.set(flash_gate.key_for(product.pk), 0)
    with django_capture_on_commit_callbacks(execute=True):
        make_codes(product, 3)
    assert counter(product, gate) == 3
    with django_capture_on_commit_callbacks(execute=True):
        report = services.codes_import(product_id=product.pk, text=f"P{product.pk}-CODE-0000\nNEW-1\n", actor_id=None)
    assert (report.added, report.duplicates) == (1, [f"P{product.pk}-CODE-0000"])
    assert counter(product, gate) == 4  # only the code really added


@redis_only
def test_a_stock_change_of_a_product_without_a_counter_creates_none(
    flash_product, operator, gate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(product_id=flash_product.pk, delta=2, actor_id=operator.pk, restock=True)
    assert counter(flash_product, gate) is None  # built from the database (7) on the next attempt
    held = flash_gate.take(product_id=flash_product.pk, quantity=7)
    assert (held.active, counter(flash_product, gate)) == (True, 0)
    held.release()


def test_without_redis_a_stock_change_schedules_nothing(
    flash_product, operator, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    with django_capture_on_commit_callbacks() as callbacks:
        services.stock_adjust(product_id=flash_product.pk, delta=2, actor_id=operator.pk, restock=True)
    assert callbacks == []


# --- The product admin: no stale stock, no stale gate ---------------------------------------


def _admin_save(product: Product, operator, changed: list[str]) -> None:
    request = RequestFactory().post("/admin/catalog/product/")
    request.user = operator
    form = SimpleNamespace(changed_data=changed, cleaned_data={})
    ProductAdmin(Product, admin.site).save_model(request, product, form, change=True)


def test_saving_a_product_in_admin_never_writes_back_a_stale_stock(make_buyer, flash_product, operator):
    edited = Product.objects.get(pk=flash_product.pk)  # the admin's copy: 5 in stock
    redeem(make_buyer(), flash_product, 2)  # a member redeems while the operator edits
    edited.name_en = "Renamed"
    _admin_save(edited, operator, ["name_en"])
    flash_product.refresh_from_db()
    assert (flash_product.name_en, flash_product.stock, flash_product.sold) == ("Renamed", 3, 2)


@redis_only
def test_a_product_taken_out_of_the_flash_sale_loses_its_counter(
    flash_product, operator, gate, django_capture_on_commit_callbacks
):
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    flash_product.flash_sale = False
    with django_capture_on_commit_callbacks(execute=True):
        _admin_save(flash_product, operator, ["flash_sale"])
    assert counter(flash_product, gate) is None
    assert flash_gate.take(product_id=flash_product.pk, quantity=1).active is False
