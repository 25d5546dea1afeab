"""Stock operations in the admin: restock and correct with a reason, the audit (盘点), code imports, low stock."""

from __future__ import annotations

import html
import io
import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from accounts.models import Notification
from catalog import notices, services
from catalog.enums import ProductKind, StockReason
from catalog.models import Code, Product, StockMovement
from tests.catalog.conftest import PIN
from tests.factories import MemberFactory


@pytest.fixture
def admin_client(client, operator, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(operator)
    return client


@pytest.fixture
def stocked(make_product, operator):
    """A physical product whose 20 in stock came through the service, so the audit adds up."""
    product = make_product(name_en="Yoga mat", stock=0, low_stock_threshold=5)
    services.stock_adjust(product_id=product.pk, delta=20, actor_id=operator.pk, reason="delivery 1", restock=True)
    product.refresh_from_db()
    return product


def stock_url(product: Product) -> str:
    return reverse("admin:catalog_product_stock", args=[product.pk])


def codes_url(product: Product) -> str:
    return reverse("admin:catalog_product_codes", args=[product.pk])


def stock_state(product: Product) -> tuple:
    product.refresh_from_db()
    return product.stock, StockMovement.objects.filter(product=product).count()


def page_text(response) -> str:
    return html.unescape(response.content.decode())


# --- Stock page ----------------------------------------------------------------------


def test_stock_page_lists_the_movements_and_says_ok_when_they_add_up(admin_client, stocked, make_buyer, make_address):
    buyer = make_buyer(2000)
    services.order_redeem(
        user_id=buyer.pk,
        product_id=stocked.pk,
        quantity=2,
        idempotency_key="k1",
        pin=PIN,
        address_id=make_address(buyer),
    )
    response = admin_client.get(stock_url(stocked))
    body = page_text(response)
    assert response.status_code == 200
    assert '<span class="audit audit-ok" data-testid="audit">OK</span>' in body
    assert '<strong data-testid="stock">18</strong>' in body
    assert "Redemption" in body and "Restock" in body and "delivery 1" in body
    assert response.context["recorded"] == 18
    assert [(m.delta, m.stock_after, m.running) for m in response.context["page"].object_list] == [
        (-2, 18, 18),
        (20, 20, 20),
    ]


def test_stock_changed_behind_the_services_back_shows_a_mismatch(admin_client, stocked):
    Product.objects.filter(pk=stocked.pk).update(stock=25)
    response = admin_client.get(stock_url(stocked))
    body = page_text(response)
    assert '<span class="audit audit-bad" data-testid="audit">MISMATCH</span>' in body
    assert "The stock differs from the sum of its movements by +5" in body


def test_a_movement_that_does_not_add_up_is_flagged(admin_client, stocked, operator):
    StockMovement.objects.create(product=stocked, delta=3, stock_after=30, reason=StockReason.CORRECTION)
    Product.objects.filter(pk=stocked.pk).update(stock=23)
    response = admin_client.get(stock_url(stocked))
    assert response.context["broken_rows"] == 1
    assert "1 movement does not add up to the stock it recorded" in page_text(response)


def test_restock_adds_stock_with_a_movement_naming_the_operator_and_the_reason(admin_client, stocked, operator):
    response = admin_client.post(stock_url(stocked), {"kind": "restock", "delta": "15", "reason": "  PO-2026-118  "})
    assert response.status_code == 302
    movement = StockMovement.objects.filter(product=stocked).order_by("pk").last()
    assert (movement.delta, movement.stock_after, movement.reason, movement.actor_id, movement.note) == (
        15,
        35,
        StockReason.RESTOCK,
        operator.pk,
        "PO-2026-118",
    )
    assert stock_state(stocked) == (35, 2)
    assert "changed by +15: 35 now" in page_text(admin_client.get(stock_url(stocked)))


def test_a_correction_removes_stock(admin_client, stocked):
    response = admin_client.post(
        stock_url(stocked), {"kind": "correction", "delta": "-3", "reason": "stocktake: 3 damaged"}
    )
    assert response.status_code == 302
    movement = StockMovement.objects.filter(product=stocked).order_by("pk").last()
    assert (movement.delta, movement.reason, movement.note) == (-3, StockReason.CORRECTION, "stocktake: 3 damaged")
    assert stock_state(stocked) == (17, 2)


def test_an_import_notes_its_movement_in_each_readers_language(admin_client, voucher):
    """The note is stored as a code (catalog.notices), so a Chinese operator does not read English."""
    admin_client.post(codes_url(voucher), {"text": "N-1\nN-2"})
    movement = StockMovement.objects.get(product=voucher)
    assert movement.note == 'catalog.codes_imported {"n":2}'
    with translation.override("en"):
        assert notices.note_text(movement.note) == "2 codes imported"
    page = admin_client.get(reverse("admin:catalog_product_stock", args=[voucher.pk]))
    assert "2 codes imported" in page_text(page)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "restock", "delta": "5", "reason": "   "}, "A reason is required."),
        ({"kind": "correction", "delta": "5"}, "A reason is required."),
        ({"kind": "correction", "delta": "0", "reason": "x"}, "Enter a number other than zero."),
        ({"kind": "restock", "delta": "-2", "reason": "x"}, "A restock adds goods: use a correction to remove some."),
        ({"kind": "correction", "delta": "ten", "reason": "x"}, "Enter a whole number."),
        ({"kind": "correction", "delta": "-21", "reason": "lost"}, "Stock can't go below zero: 20 left, change -21."),
        ({"kind": "gift", "delta": "1", "reason": "x"}, "Select a valid choice."),
    ],
)
def test_bad_stock_changes_are_refused_and_nothing_is_written(admin_client, stocked, data, message):
    before = stock_state(stocked)
    response = admin_client.post(stock_url(stocked), data)
    assert response.status_code == 200
    assert message in page_text(response)
    assert stock_state(stocked) == before


def test_a_code_item_can_only_be_corrected_downwards_on_the_stock_page(admin_client, make_product, make_codes):
    product = make_product(name_en="Top-up", kind=ProductKind.VIRTUAL, stock=0)
    make_codes(product, 4)
    before = stock_state(product)
    refused = admin_client.post(stock_url(product), {"kind": "correction", "delta": "3", "reason": "found some"})
    assert "The stock of a code item is its pool: import codes to add to it." in page_text(refused)
    restock = admin_client.post(stock_url(product), {"kind": "restock", "delta": "3", "reason": "x"})
    assert "Select a valid choice." in page_text(restock)
    assert stock_state(product) == before
    assert (
        admin_client.post(stock_url(product), {"kind": "correction", "delta": "-1", "reason": "leaked"}).status_code
        == 302
    )
    assert stock_state(product) == (3, before[1] + 1)


def test_customer_service_may_look_at_stock_but_not_change_it(client, stocked, settings):
    settings.ADMIN_REQUIRE_MFA = False
    agent = MemberFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Customer service"))
    client.force_login(agent)
    page = client.get(stock_url(stocked))
    assert page.status_code == 200
    assert page.context["form"] is None
    before = stock_state(stocked)
    assert client.post(stock_url(stocked), {"kind": "restock", "delta": "5", "reason": "x"}).status_code == 403
    assert stock_state(stocked) == before


def test_members_cannot_reach_the_stock_page(client, member, stocked):
    client.force_login(member)
    assert client.get(stock_url(stocked)).status_code == 403  # the "for mall staff" page, not a login loop


def test_the_stock_page_of_an_unknown_product_is_404(admin_client, db):
    assert admin_client.get(reverse("admin:catalog_product_stock", args=[999_999])).status_code == 404


# --- Code pools ----------------------------------------------------------------------


@pytest.fixture
def voucher(make_product):
    return make_product(name_en="Cinema voucher", kind=ProductKind.COUPON, stock=0)


def pool(product: Product) -> tuple:
    product.refresh_from_db()
    return product.stock, sorted(Code.objects.filter(product=product).values_list("code", flat=True))


def test_pasting_codes_adds_them_and_reports_duplicates_and_rejects(admin_client, voucher, operator):
    text = "code\nAAA-1\nAAA-2\nAAA-1\n\n" + "X" * 65 + "\nAAA-3,extra column\n"
    response = admin_client.post(codes_url(voucher), {"text": text})
    body = page_text(response)
    report = response.context["report"]
    assert (report.added, report.duplicates, report.rejected) == (
        3,
        ["AAA-1"],
        [(6, "not a valid code (at most 64 printable characters)")],
    )
    assert "3 codes added." in body
    assert "1 duplicate skipped" in body
    assert "line 6: not a valid code" in body
    assert pool(voucher) == (3, ["AAA-1", "AAA-2", "AAA-3"])
    movement = StockMovement.objects.get(product=voucher)
    assert (movement.delta, movement.reason, movement.actor_id) == (3, StockReason.RESTOCK, operator.pk)
    assert '<strong data-testid="pool-free">3</strong>' in body


def test_uploading_a_utf8_csv_with_a_bom_works_and_a_second_import_adds_nothing(admin_client, voucher):
    data = "\ufeffcode,batch\nCP-1,march\nCP-2,march\n".encode()
    first = admin_client.post(codes_url(voucher), {"file": SimpleUploadedFile("codes.csv", data, "text/csv")})
    assert first.context["report"].added == 2
    again = admin_client.post(codes_url(voucher), {"file": SimpleUploadedFile("codes.csv", data, "text/csv")})
    assert (again.context["report"].added, again.context["report"].duplicates) == (0, ["CP-1", "CP-2"])
    assert "0 codes added." in page_text(again)
    assert pool(voucher) == (2, ["CP-1", "CP-2"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"file": ("codes.csv", "code\nCAFÉ-1\n".encode("gb18030"))}, "The file is not UTF-8 text."),
        (
            {"file": ("codes.xlsx", b"PK\x03\x04\x00\x00binary\x00zip")},
            "This is not a text file. Upload a UTF-8 CSV file.",
        ),
        ({"text": "   \n  "}, "Choose a CSV file or paste some codes."),
        ({"text": "A-1", "file": ("codes.csv", b"B-1\n")}, "Choose a CSV file or paste codes, not both."),
        ({}, "Choose a CSV file or paste some codes."),
    ],
)
def test_bad_code_files_are_refused_and_nothing_is_written(admin_client, voucher, data, message):
    if "file" in data:
        name, content = data["file"]
        data = {**data, "file": SimpleUploadedFile(name, content, "text/csv")}
    before = (pool(voucher), StockMovement.objects.count())
    response = admin_client.post(codes_url(voucher), data)
    assert response.status_code == 200
    assert message in page_text(response)
    assert response.context["report"] is None
    assert (pool(voucher), StockMovement.objects.count()) == before


def test_a_file_of_only_bad_lines_adds_nothing(admin_client, voucher):
    response = admin_client.post(codes_url(voucher), {"text": "Y" * 80 + "\n" + "Z" * 70})
    assert response.context["report"].added == 0
    assert len(response.context["report"].rejected) == 2
    assert pool(voucher) == (0, [])
    assert StockMovement.objects.count() == 0


def test_codes_cannot_be_imported_for_physical_goods(admin_client, stocked):
    before = stock_state(stocked)
    response = admin_client.post(codes_url(stocked), {"text": "A\nB"})
    assert "Codes can only be imported for virtual and coupon items." in page_text(response)
    assert Code.objects.count() == 0
    assert stock_state(stocked) == before


def test_an_empty_pool_is_flagged_on_the_import_page_and_the_product_page(admin_client, voucher):
    assert "The pool is empty: members can't redeem this item" in page_text(admin_client.get(codes_url(voucher)))
    change = page_text(admin_client.get(reverse("admin:catalog_product_change", args=[voucher.pk])))
    assert "The code pool of this item is empty: members can't redeem it until codes are imported." in change
    assert "0 free · 0 given · 0 used" in change


def test_customer_service_cannot_import_codes(client, voucher, settings):
    settings.ADMIN_REQUIRE_MFA = False
    agent = MemberFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Customer service"))
    client.force_login(agent)
    assert client.post(codes_url(voucher), {"text": "A"}).status_code == 403
    assert Code.objects.count() == 0


# --- Low stock command ---------------------------------------------------------------


def test_low_stock_command_lists_products_at_or_below_their_alert_level(make_product):
    make_product(name_en="Plenty", stock=50, low_stock_threshold=5)
    make_product(name_en="At the line", stock=5, low_stock_threshold=5)
    make_product(name_en="Gone", stock=0, low_stock_threshold=5)
    make_product(name_en="Shelved", stock=1, low_stock_threshold=5, on_shelf=False)
    out = io.StringIO()
    call_command("catalog_low_stock", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[-1].split(" / ")[0].strip() for line in lines[1:-1]] == ["Gone", "At the line"]
    assert lines[-1] == "2 product(s) to restock."
    everything = io.StringIO()
    call_command("catalog_low_stock", "--all", stdout=everything)
    assert "Shelved / 测试商品" in everything.getvalue()
    assert "3 product(s) to restock." in everything.getvalue()


def test_low_stock_command_with_notify_tells_the_operators_once_a_day(make_product, operator):
    make_product(name_en="Gone", stock=0, low_stock_threshold=5)
    out = io.StringIO()
    call_command("catalog_low_stock", "--notify", stdout=out)
    call_command("catalog_low_stock", "--notify", stdout=io.StringIO())
    assert "1 inbox alert(s) sent" in out.getvalue()
    assert Notification.objects.filter(user=operator).count() == 1


def test_low_stock_command_says_so_when_nothing_is_low(make_product):
    make_product(stock=50, low_stock_threshold=5, name_en=f"p-{uuid.uuid4()}")
    out = io.StringIO()
    call_command("catalog_low_stock", stdout=out)
    assert out.getvalue().strip() == "No product is at or below its low-stock alert level."
