"""The back office's reads (catalog.selectors.backoffice) and the shelf actions' service (catalog.services.shelf)."""

from __future__ import annotations

import pytest

from catalog import services
from catalog.enums import ProductKind, StockReason
from catalog.models import Code, Product, StockMovement
from catalog.selectors import backoffice
from catalog.services import privileges, shelf

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(make_product, operator) -> Product:
    product = make_product(stock=0)
    services.stock_adjust(product_id=product.pk, delta=20, actor_id=operator.pk, reason="delivery", restock=True)
    product.refresh_from_db()
    return product


def test_a_stock_that_equals_its_movements_passes_the_audit(stocked):
    audit = backoffice.stock_audit(product_id=stocked.pk, stock=stocked.stock)
    assert (audit.recorded, audit.broken_rows, audit.difference, audit.ok) == (20, 0, 0, True)


def test_a_stock_changed_behind_the_services_back_fails_the_audit_by_the_difference(stocked):
    audit = backoffice.stock_audit(product_id=stocked.pk, stock=25)
    assert (audit.recorded, audit.broken_rows, audit.difference, audit.ok) == (20, 0, 5, False)


def test_a_movement_whose_stock_after_is_not_the_running_sum_is_counted(stocked):
    StockMovement.objects.create(product=stocked, delta=3, stock_after=30, reason=StockReason.CORRECTION)
    audit = backoffice.stock_audit(product_id=stocked.pk, stock=23)
    assert (audit.recorded, audit.broken_rows, audit.difference, audit.ok) == (23, 1, 0, False)


def test_movements_come_newest_first_with_their_running_sum(stocked, operator):
    services.stock_adjust(product_id=stocked.pk, delta=-4, actor_id=operator.pk, reason="count", restock=False)
    rows = [(m.delta, m.stock_after, m.running) for m in backoffice.stock_movements(product_id=stocked.pk)]
    assert rows == [(-4, 16, 16), (20, 20, 20)]


def test_the_code_pool_counts_an_imported_pool_as_free(make_product, make_codes):
    voucher = make_product(kind=ProductKind.VIRTUAL, stock=0)
    assert backoffice.product_code_pool(product_id=voucher.pk) == backoffice.CodePool(0, 0, 0)
    make_codes(voucher, 3)
    assert backoffice.product_code_pool(product_id=voucher.pk) == backoffice.CodePool(3, 0, 0)
    assert Code.objects.filter(backoffice.CODE_STATES["free"], product=voucher).count() == 3


def test_shelving_puts_sellable_products_on_and_names_the_refused(make_product, monkeypatch):
    # The make-up card as if the check-in app were not wired in: an effect nobody delivers.
    monkeypatch.setattr(privileges, "_APPLIERS", {k: v for k, v in privileges._APPLIERS.items() if k != "makeup_card"})
    mug = make_product(on_shelf=False, name_en="Mug")
    card = make_product(on_shelf=False, kind=ProductKind.PRIVILEGE, effect="makeup_card", name_en="Makeup card")
    already = make_product(on_shelf=True)
    with_ids = [mug.pk, card.pk, already.pk]
    result = shelf.products_shelve(product_ids=with_ids)
    assert result.changed == 1
    assert result.refused == [card.name]
    assert dict(Product.objects.filter(pk__in=with_ids).values_list("pk", "on_shelf")) == {
        mug.pk: True,
        card.pk: False,
        already.pk: True,
    }
    assert shelf.products_shelve(product_ids=[mug.pk]).changed == 0


def test_unshelving_counts_only_products_that_were_on_the_shelf(make_product):
    on, off = make_product(on_shelf=True), make_product(on_shelf=False)
    assert shelf.products_unshelve(product_ids=[on.pk, off.pk]) == 1
    assert not Product.objects.filter(on_shelf=True, pk__in=[on.pk, off.pk]).exists()
    assert shelf.products_unshelve(product_ids=[on.pk]) == 0
