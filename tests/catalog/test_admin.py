"""The catalog admin: products and categories, order actions through the services, CSV export, permissions."""

from __future__ import annotations

import csv
import html
import io
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin import helpers
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from catalog import services
from catalog.enums import PaymentBackendName, ProductKind, StockReason
from catalog.models import Category, Order, OrderEvent, Product, ProductImage, Review, SalePrice, StockMovement
from points import services as points_services
from points.models import Account, Entry
from pointsmall.kernel.masking import mask_email
from tests.catalog.conftest import PIN
from tests.factories import MemberFactory

ORDERS_URL = "/admin/catalog/order/"
PRODUCTS_URL = "/admin/catalog/product/"


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def png(size=(600, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def redeem(buyer, product, *, address_id=None, quantity=1) -> Order:
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=quantity,
        idempotency_key=f"test:{uuid.uuid4()}",
        pin=PIN,
        address_id=address_id,
    )


@pytest.fixture
def place(make_product, make_buyer, make_address):
    """Orders of physical goods by fresh members, in the first status their product gives."""

    def make(*, review: bool = False, cash: str = "0", points: int = 500, buyer=None, product=None) -> Order:
        product = product or make_product(requires_review=review, cash_price=cash, points_price=points, stock=10)
        buyer = buyer or make_buyer(5000)
        return redeem(buyer, product, address_id=make_address(buyer))

    return make


def act(client, action: str, orders: list[Order], **data):
    return client.post(
        ORDERS_URL,
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [o.pk for o in orders], **data},
        follow="apply" in data or action not in ("reject_orders", "ship_orders"),
    )


def status_of(order: Order) -> str:
    order.refresh_from_db()
    return order.status


def balance(user) -> int:
    return Account.objects.get(user=user).balance


# --- Categories ----------------------------------------------------------------------


def test_categories_list_children_under_their_parent_with_editable_order(admin_client, db):
    home = Category.objects.create(name_zh="家居", name_en="Home", slug="home", sort=20)
    tech = Category.objects.create(name_zh="数码", name_en="Electronics", slug="tech", sort=10)
    Category.objects.create(name_zh="厨房", name_en="Kitchen", slug="kitchen", sort=1, parent=home)
    Category.objects.create(name_zh="手机", name_en="Phones", slug="phones", sort=5, parent=tech)
    response = admin_client.get("/admin/catalog/category/")
    assert [c.slug for c in response.context["cl"].result_list] == ["tech", "phones", "home", "kitchen"]
    assert "└ 厨房" in page_text(response)
    assert 'name="form-0-sort"' in response.content.decode()


def test_a_category_cannot_be_moved_under_its_own_child(admin_client, db):
    parent = Category.objects.create(name_zh="家居", name_en="Home", slug="home")
    child = Category.objects.create(name_zh="厨房", name_en="Kitchen", slug="kitchen", parent=parent)
    response = admin_client.post(
        f"/admin/catalog/category/{parent.pk}/change/",
        {"name_zh": "家居", "name_en": "Home", "slug": "home", "parent": child.pk, "sort": 0, "active": "on"},
    )
    assert "A category can't be placed under itself or one of its subcategories." in page_text(response)
    parent.refresh_from_db()
    assert parent.parent_id is None


# --- Products ------------------------------------------------------------------------


def product_form(category, **overrides) -> dict:
    data = {
        "name_zh": "保温杯",
        "name_en": "Tumbler",
        "category": category.pk,
        "kind": ProductKind.PHYSICAL,
        "description_zh": "",
        "description_en": "",
        "market_price": "89.00",
        "points_price": "1500",
        "cash_price": "0",
        "initial_stock": "30",
        "low_stock_threshold": "5",
        "min_tier_rank": "0",
        "per_order_limit": "5",
        "per_day_limit": "",
        "lifetime_limit": "",
        "on_shelf": "on",
        "sort_weight": "0",
        "sale_starts_at_0": "",
        "sale_starts_at_1": "",
        "sale_ends_at_0": "",
        "sale_ends_at_1": "",
        "coupon_valid_days": "30",
        "supplier": "",
        "cost_price": "",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-sort": "0",
        "sale_prices-TOTAL_FORMS": "0",
        "sale_prices-INITIAL_FORMS": "0",
        "sale_prices-MIN_NUM_FORMS": "0",
        "sale_prices-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def catalog_rows() -> tuple:
    return (
        Product.objects.count(),
        ProductImage.objects.count(),
        StockMovement.objects.count(),
        SalePrice.objects.count(),
    )


def test_adding_a_product_records_its_first_stock_as_a_restock_and_processes_its_picture(
    admin_client, category, operator
):
    data = product_form(category, **{"images-0-upload": SimpleUploadedFile("cup.png", png(), "image/png")})
    response = admin_client.post("/admin/catalog/product/add/", data)
    assert response.status_code == 302
    product = Product.objects.get(name_en="Tumbler")
    assert (product.stock, product.points_price) == (30, 1500)
    movement = StockMovement.objects.get(product=product)
    assert (movement.delta, movement.stock_after, movement.reason, movement.actor_id, movement.note) == (
        30,
        30,
        StockReason.RESTOCK,
        operator.pk,
        "Initial stock",
    )
    image = ProductImage.objects.get(product=product)
    assert image.thumb_list.name.endswith("-list.jpg")
    with Image.open(image.thumb_list) as thumb:
        assert thumb.size == (400, 400)


def test_a_text_file_uploaded_as_product_picture_is_refused_and_nothing_is_written(admin_client, category):
    data = product_form(
        category, **{"images-0-upload": SimpleUploadedFile("cup.png", b"hello, not a png", "image/png")}
    )
    response = admin_client.post("/admin/catalog/product/add/", data)
    assert response.status_code == 200
    assert "This file is not an image we can use. Upload a PNG, JPEG or WebP picture." in page_text(response)
    assert catalog_rows() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "sale_starts_at_0": "2026-05-02",
                "sale_starts_at_1": "10:00",
                "sale_ends_at_0": "2026-05-01",
                "sale_ends_at_1": "10:00",
            },
            "The sale must end after it starts.",
        ),
        ({"flash_sale": "on"}, "A flash sale needs both a start and an end."),
        ({"points_price": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"cash_price": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"kind": ProductKind.COUPON}, "The stock of a code item is its pool: import codes instead."),
        (
            {
                "sale_prices-TOTAL_FORMS": "1",
                "sale_prices-0-points_price": "1600",
                "sale_prices-0-starts_at_0": "2026-05-01",
                "sale_prices-0-starts_at_1": "00:00",
                "sale_prices-0-ends_at_0": "2026-05-08",
                "sale_prices-0-ends_at_1": "00:00",
            },
            "A sale price must be lower than the regular price.",
        ),
    ],
)
def test_bad_product_input_is_refused_with_a_readable_message_and_nothing_is_written(
    admin_client, category, overrides, message
):
    response = admin_client.post("/admin/catalog/product/add/", product_form(category, **overrides))
    assert response.status_code == 200
    assert message in page_text(response)
    assert catalog_rows() == (0, 0, 0, 0)


def test_tier_requirement_is_picked_from_the_tier_ladder(admin_client, db):
    body = page_text(admin_client.get("/admin/catalog/product/add/"))
    assert '<option value="0" selected>Everyone</option>' in body
    assert '<option value="2">Gold and above</option>' in body


def test_product_list_shows_thumbnail_price_low_stock_and_code_pool(admin_client, make_product, make_codes, tmp_path):
    from catalog.images import product_image_create

    mug = make_product(name_en="Mug", points_price=990, cash_price="9.90", stock=2, low_stock_threshold=5)
    product_image_create(product_id=mug.pk, upload=SimpleUploadedFile("m.png", png(), "image/png"))
    voucher = make_product(name_en="Voucher", kind=ProductKind.COUPON, stock=0, low_stock_threshold=0)
    make_codes(voucher, 3)
    empty = make_product(name_en="Top-up", kind=ProductKind.VIRTUAL, stock=0)
    body = page_text(admin_client.get(PRODUCTS_URL))
    assert mug.images.get().thumb_list.url in body
    assert "990 points" in body and "+ ¥9.90" in body
    assert "2 · low" in body
    assert "3 / 0 / 0" in body
    assert "0 / 0 / 0 · empty" in body
    assert reverse("admin:catalog_product_codes", args=[empty.pk]) in body


def test_product_list_queries_do_not_grow_with_the_number_of_products(admin_client, make_product, make_codes):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(PRODUCTS_URL).status_code == 200
        return len(queries)

    for n in range(3):
        make_codes(make_product(name_en=f"Voucher {n}", kind=ProductKind.COUPON, stock=0), 2)
    few = count_queries()
    for n in range(3, 12):
        make_codes(make_product(name_en=f"Voucher {n}", kind=ProductKind.COUPON, stock=0), 2)
    assert count_queries() == few


def test_low_stock_filter_lists_products_at_or_below_their_alert_level(admin_client, make_product):
    make_product(name_en="Plenty", stock=50, low_stock_threshold=5)
    low = make_product(name_en="Few", stock=5, low_stock_threshold=5)
    response = admin_client.get(PRODUCTS_URL + "?stock_level=low")
    assert [p.pk for p in response.context["cl"].result_list] == [low.pk]


def test_search_finds_products_by_chinese_or_english_name(admin_client, make_product):
    mug = make_product(name_en="Enamel mug", name_zh="搪瓷杯")
    make_product(name_en="Scarf", name_zh="围巾")
    for term in ("enamel", "搪瓷"):
        assert [p.pk for p in admin_client.get(PRODUCTS_URL, {"q": term}).context["cl"].result_list] == [mug.pk]


def test_shelf_actions_put_products_on_and_off_the_shelf(admin_client, make_product):
    on, off = make_product(on_shelf=True), make_product(on_shelf=False)
    response = admin_client.post(
        PRODUCTS_URL, {"action": "take_off_shelf", helpers.ACTION_CHECKBOX_NAME: [on.pk, off.pk]}, follow=True
    )
    assert "1 product taken off the shelf." in messages_of(response)
    assert list(Product.objects.filter(on_shelf=True)) == []
    admin_client.post(PRODUCTS_URL, {"action": "put_on_shelf", helpers.ACTION_CHECKBOX_NAME: [on.pk, off.pk]})
    assert Product.objects.filter(on_shelf=True).count() == 2


# --- Order actions -------------------------------------------------------------------


def test_approve_moves_orders_on_and_reports_the_ones_that_cannot_move(admin_client, place, operator):
    waiting, also_waiting = place(review=True), place(review=True)
    already = place()
    response = act(admin_client, "approve_orders", [waiting, already, also_waiting])
    messages = messages_of(response)
    assert f"Order #{already.pk}: This order can't be approved in its current state (Approved)." in messages
    assert "2 orders approved." in messages
    assert (status_of(waiting), status_of(also_waiting), status_of(already)) == ("approved", "approved", "approved")
    event = OrderEvent.objects.filter(order=waiting).order_by("pk").last()
    assert (event.from_status, event.to_status, event.actor_id) == ("pending_review", "approved", operator.pk)
    assert OrderEvent.objects.filter(order=already).count() == 1


def test_reject_asks_for_a_reason_first(admin_client, place):
    order = place(review=True)
    response = act(admin_client, "reject_orders", [order])
    assert response.status_code == 200
    assert response.templates[0].name == "admin/catalog/order/reject.html"
    assert f'name="{helpers.ACTION_CHECKBOX_NAME}" value="{order.pk}"' in response.content.decode()
    assert status_of(order) == "pending_review"


def test_reject_without_a_reason_is_refused_and_nothing_is_written(admin_client, place):
    order = place(review=True)
    before = (balance(order.member), Entry.objects.count(), OrderEvent.objects.count(), StockMovement.objects.count())
    response = act(admin_client, "reject_orders", [order], apply="1", reason="   ")
    assert response.status_code == 200
    assert "A reason is required." in page_text(response)
    assert status_of(order) == "pending_review"
    after = (balance(order.member), Entry.objects.count(), OrderEvent.objects.count(), StockMovement.objects.count())
    assert after == before


def test_reject_with_a_reason_refunds_returns_stock_and_records_the_operator(admin_client, place, operator):
    order = place(review=True, points=700)
    shipped = place()
    services.order_ship(order_id=shipped.pk, actor_id=operator.pk, carrier="SF", tracking_number="SF123456")
    assert balance(order.member) == 4300
    response = act(admin_client, "reject_orders", [order, shipped], apply="1", reason="Address outside delivery area")
    messages = messages_of(response)
    assert "1 order rejected; points refunded." in messages
    assert f"Order #{shipped.pk}: This order can't be rejected in its current state (Shipped)." in messages
    order.refresh_from_db()
    assert (order.status, order.reject_reason) == ("rejected", "Address outside delivery area")
    assert balance(order.member) == 5000
    event = OrderEvent.objects.filter(order=order).order_by("pk").last()
    assert (event.to_status, event.actor_id, event.note) == ("rejected", operator.pk, "Address outside delivery area")
    assert StockMovement.objects.filter(order=order, reason=StockReason.RETURN).count() == 1
    assert status_of(shipped) == "shipped"
    assert points_services.points_verify().ok


def test_ship_asks_for_carrier_and_tracking_per_order(admin_client, place):
    first, second, waiting = place(), place(), place(review=True)
    response = act(admin_client, "ship_orders", [first, second, waiting])
    assert response.templates[0].name == "admin/catalog/order/ship.html"
    body = page_text(response)
    assert f'name="tracking_{first.pk}"' in body and f'name="tracking_{second.pk}"' in body
    assert f'name="tracking_{waiting.pk}"' not in body
    assert f"#{waiting.pk} (Under review)" in body


@pytest.mark.parametrize(
    ("tracking", "message"),
    [
        ("", "This field is required."),
        ("12", "A tracking number is 6 to 40 letters, digits or dashes."),
        ("SF12?34!56", "A tracking number is 6 to 40 letters, digits or dashes."),
        ("x" * 41, "Ensure this value has at most 40 characters (it has 41)."),
    ],
)
def test_bad_tracking_numbers_are_refused_and_nothing_ships(admin_client, place, tracking, message):
    good, bad = place(), place()
    events = OrderEvent.objects.count()
    response = act(
        admin_client,
        "ship_orders",
        [good, bad],
        apply="1",
        default_carrier="顺丰速运 SF Express",
        **{f"tracking_{good.pk}": "SF1400000001", f"tracking_{bad.pk}": tracking},
    )
    assert response.status_code == 200
    assert message in page_text(response)
    assert (status_of(good), status_of(bad)) == ("approved", "approved")
    assert OrderEvent.objects.count() == events


def test_a_missing_carrier_is_refused(admin_client, place):
    order = place()
    response = act(admin_client, "ship_orders", [order], apply="1", **{f"tracking_{order.pk}": "SF1400000001"})
    assert "Enter the carrier, here or for every order above." in page_text(response)
    assert status_of(order) == "approved"


def test_ship_records_carrier_and_tracking_and_reports_orders_not_approved(admin_client, place, operator):
    first, second, waiting = place(), place(), place(review=True)
    response = act(
        admin_client,
        "ship_orders",
        [first, second, waiting],
        apply="1",
        default_carrier="顺丰速运 SF Express",
        **{
            f"carrier_{second.pk}": "EMS",
            f"tracking_{first.pk}": " sf 1400 0000 01 ",
            f"tracking_{second.pk}": "EA123456789CN",
        },
    )
    messages = messages_of(response)
    assert "2 orders shipped." in messages
    assert f"Order #{waiting.pk} was not shipped: it is Under review." in messages
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.carrier, first.tracking_number) == ("shipped", "顺丰速运 SF Express", "SF1400000001")
    assert (second.carrier, second.tracking_number) == ("EMS", "EA123456789CN")
    event = OrderEvent.objects.filter(order=first).order_by("pk").last()
    assert (event.to_status, event.actor_id) == ("shipped", operator.pk)
    assert status_of(waiting) == "pending_review"


def test_ship_with_nothing_shippable_says_so(admin_client, place):
    waiting = place(review=True)
    response = act(admin_client, "ship_orders", [waiting], apply="1")
    assert "None of the selected orders can be shipped: only approved orders ship." in messages_of(response)


def test_deliver_marks_shipped_orders_delivered(admin_client, place, operator):
    order, approved = place(), place()
    services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF", tracking_number="SF999999")
    response = act(admin_client, "deliver_orders", [order, approved])
    assert "1 order marked delivered." in messages_of(response)
    assert (status_of(order), status_of(approved)) == ("delivered", "approved")


def test_confirm_cash_payment_moves_an_offline_order_on_with_a_reference_naming_the_operator(
    admin_client, place, operator
):
    order = place(cash="19.90")
    assert order.status == "awaiting_payment"
    response = act(admin_client, "confirm_cash_payment", [order])
    assert "Payment confirmed for 1 order." in messages_of(response)
    order.refresh_from_db()
    assert (order.status, order.payment_reference) == ("approved", f"offline:{operator.pk}:{order.pk}")
    assert order.paid_at is not None
    event = OrderEvent.objects.filter(order=order).order_by("pk").last()
    assert (event.from_status, event.to_status, event.actor_id) == ("awaiting_payment", "approved", operator.pk)


def test_a_sandbox_payment_is_not_confirmed_by_hand(admin_client, place):
    order = place(cash="19.90")
    Order.objects.filter(pk=order.pk).update(payment_backend=PaymentBackendName.SANDBOX, payment_reference="sbx-1")
    response = act(admin_client, "confirm_cash_payment", [order])
    assert any("sandbox gateway" in m for m in messages_of(response))
    order.refresh_from_db()
    assert (order.status, order.paid_at, order.payment_reference) == ("awaiting_payment", None, "sbx-1")


def test_csv_export_streams_every_selected_order_with_formulas_defused(
    admin_client, place, make_buyer, make_address, make_product
):
    buyer = make_buyer(5000)
    product = make_product(name_en="Tumbler", name_zh="保温杯")
    address = make_address(buyer, recipient="=HYPERLINK(1)")
    order = redeem(buyer, product, address_id=address, quantity=2)
    response = act(admin_client, "export_csv", [order])
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert rows[0][:5] == ["Order", "ordered", "member", "product", "type"]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["Order"], row["member"], row["product"], row["quantity"], row["points"], row["status"]) == (
        str(order.pk),
        mask_email(buyer.email),  # masked even in the full shipping list (decision 0057)
        order.product_name,
        "2",
        "1000",
        "Approved",
    )
    assert row["recipient"] == "'=HYPERLINK(1)"
    assert len(rows) == 2


# --- Order pages, filters ------------------------------------------------------------


def test_the_order_page_is_read_only_with_history_and_ledger_links(admin_client, place, operator):
    order = place(review=True)
    services.order_approve(order_id=order.pk, actor_id=operator.pk)
    url = f"/admin/catalog/order/{order.pk}/change/"
    response = admin_client.get(url)
    body = page_text(response)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert "View order" in body
    assert f"/admin/points/entry/{order.spend_entry_id}/change/" in body
    assert f"/admin/points/entry/?reference=catalog.order%3A{order.pk}" in body
    assert "Under review" in body and "Approved" in body
    assert operator.email in body
    before = status_of(order)
    assert admin_client.post(url, {"status": "rejected"}).status_code == 403
    assert status_of(order) == before


def test_the_ledger_link_lists_exactly_the_entries_of_the_order(admin_client, place, operator):
    order = place(review=True)
    other = place()
    services.order_reject(order_id=order.pk, actor_id=operator.pk, reason="out of area")
    response = admin_client.get("/admin/points/entry/", {"reference": f"catalog.order:{order.pk}"})
    kinds = sorted(e.kind for e in response.context["cl"].result_list)
    assert kinds == ["refund", "spend"]
    assert all(e.reference == f"catalog.order:{order.pk}" for e in response.context["cl"].result_list)
    assert other.pk != order.pk


def test_orders_filter_by_status_member_email_product_and_date(admin_client, place, make_buyer):
    alice = make_buyer(5000)
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        old = place()
    waiting = place(review=True, buyer=alice)
    approved = place()

    def listed(**query) -> list[int]:
        return sorted(o.pk for o in admin_client.get(ORDERS_URL, query).context["cl"].result_list)

    assert listed(status__exact="pending_review") == [waiting.pk]
    assert listed(q=alice.email) == [waiting.pk]
    assert listed(product__id__exact=approved.product_id) == [approved.pk]
    today = timezone.localdate()
    assert listed(created_at__year=today.year, created_at__month=today.month, created_at__day=today.day) == sorted(
        [waiting.pk, approved.pk]
    )
    assert old.pk in listed()


def test_orders_cannot_be_added_or_deleted_in_the_admin(admin_client, place):
    order = place()
    assert admin_client.get("/admin/catalog/order/add/").status_code == 403
    assert admin_client.post(f"/admin/catalog/order/{order.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_stock_movements_are_read_only(admin_client, make_product):
    product = make_product()
    movement = StockMovement.objects.create(product=product, delta=5, stock_after=15, reason=StockReason.RESTOCK)
    assert admin_client.get("/admin/catalog/stockmovement/").status_code == 200
    assert admin_client.get("/admin/catalog/stockmovement/add/").status_code == 403
    assert admin_client.post(f"/admin/catalog/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StockMovement.objects.filter(pk=movement.pk).exists()


def test_codes_are_listed_by_state_and_never_edited(admin_client, make_product, make_codes, buyer):
    voucher = make_product(name_en="Voucher", kind=ProductKind.COUPON, stock=0)
    make_codes(voucher, 3)
    redeem(buyer, voucher)
    free = admin_client.get("/admin/catalog/code/", {"state": "free"}).context["cl"].result_list
    given = admin_client.get("/admin/catalog/code/", {"state": "given"}).context["cl"].result_list
    assert (len(free), len(given)) == (2, 1)
    assert admin_client.get(f"/admin/catalog/code/{free[0].pk}/delete/").status_code == 403


def test_operators_delete_an_abusive_review(admin_client, place, operator):
    order = place()
    services.order_ship(order_id=order.pk, actor_id=operator.pk, carrier="SF", tracking_number="SF123456")
    services.order_confirm_receipt(order_id=order.pk, member_id=order.member_id)
    review = Review.objects.create(
        order=order, product_id=order.product_id, member=order.member, rating=1, text="spam spam"
    )
    assert "★☆☆☆☆" in page_text(admin_client.get("/admin/catalog/review/"))
    admin_client.post(f"/admin/catalog/review/{review.pk}/delete/", {"post": "yes"})
    assert not Review.objects.filter(pk=review.pk).exists()


# --- Groups and permissions ----------------------------------------------------------


def group_perms(name: str) -> set[str]:
    return set(
        Permission.objects.filter(group__name=name, content_type__app_label="catalog").values_list(
            "codename", flat=True
        )
    )


def test_operators_may_run_the_catalog_but_never_delete_audit_rows(db):
    operators = group_perms("Operators")
    assert {"add_product", "change_product", "view_product", "change_order", "add_code", "verify_coupon"} <= operators
    assert {"delete_product", "delete_review", "delete_saleprice"} <= operators
    assert {"delete_order", "delete_stockmovement", "delete_orderevent", "delete_code"} & operators == set()


def test_customer_service_and_shop_staff_get_only_what_they_need(db):
    assert group_perms("Customer service") == {
        "view_order",
        "view_product",
        "view_orderevent",
        "view_cashrefund",
        "view_category",
    }
    assert group_perms("Shop staff") == {"verify_coupon"}


def test_customer_service_sees_orders_but_cannot_act_on_them(client, place, settings):
    settings.ADMIN_REQUIRE_MFA = False
    agent = MemberFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Customer service"))
    client.force_login(agent)
    order = place(review=True)
    listing = client.get(ORDERS_URL)
    assert listing.status_code == 200
    assert "approve_orders" not in listing.content.decode()
    assert client.get(f"/admin/catalog/order/{order.pk}/change/").status_code == 200
    client.post(ORDERS_URL, {"action": "approve_orders", helpers.ACTION_CHECKBOX_NAME: [order.pk]})
    assert status_of(order) == "pending_review"
    assert OrderEvent.objects.filter(order=order).count() == 1


def test_an_operator_in_the_group_can_approve(client, place, settings):
    settings.ADMIN_REQUIRE_MFA = False
    operator = MemberFactory(is_staff=True)
    operator.groups.add(Group.objects.get(name="Operators"))
    client.force_login(operator)
    order = place(review=True)
    act(client, "approve_orders", [order])
    assert status_of(order) == "approved"
