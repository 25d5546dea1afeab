"""The redemption flow: product page → confirmation (quote, address, PIN) → the order's page."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Address, PaymentPin
from catalog import services, views
from catalog.enums import OrderStatus, ProductKind
from catalog.models import Order
from points.confirmation import Totals
from pointsmall.kernel.errors import DomainError
from tests.catalog.factories import (
    PIN,
    WRONG_PIN,
    add_address,
    add_codes,
    make_gold_member,
    make_member,
    make_product,
    redeem,
    written,
)

pytestmark = pytest.mark.django_db
KEY = "0123456789abcdef0123456789abcdef"


def _confirm_url(product) -> str:
    return reverse("redeem_confirm", args=[product.pk])


def _confirmation(client, product, quantity) -> str:
    """The token the confirmation page would carry: its quote's totals (the list price when the
    quote itself is refused, as it is for the refusals these tests expect from the service)."""
    user_id = int(client.session["_auth_user_id"])
    try:
        totals = services.redemption_quote(user_id=user_id, product_id=product.pk, quantity=quantity).totals
    except DomainError:
        totals = Totals(points=product.points_price * quantity, cash=Decimal(product.cash_price) * quantity)
    return services.redemption_confirmation_sign(
        user_id=user_id, product_id=product.pk, quantity=quantity, totals=totals
    )


def _post(client, product, **data):
    values = {"quantity": 1, "pin": PIN, "idempotency_key": KEY}
    values.update(data)
    if "confirmation" not in values:
        values["confirmation"] = _confirmation(client, product, int(values["quantity"]))
    return client.post(_confirm_url(product), {k: v for k, v in values.items() if v is not None})


@pytest.fixture
def buyer(client):
    member = make_member(points=900)  # below Silver's 1,000: list prices
    client.force_login(member)
    return member


def _refusal(response) -> str:
    assert response.status_code == 200
    assert 'data-testid="redeem-error"' in response.content.decode()
    return response.context["refusal"].message


# --- step 2: the confirmation page ------------------------------------------------------------


def test_confirmation_shows_points_after_tier_discount_cash_balance_after_and_the_address(client):
    member = make_gold_member(points=1000)  # 6,000 points, 85% prices
    address_id = add_address(member, recipient="Li Lei", detail="Wensan Road 1")
    client.force_login(member)
    product = make_product(points_price=1000, cash_price="9.90")

    response = client.get(_confirm_url(product), {"quantity": 2, "address": address_id})

    html = response.content.decode()
    quote = response.context["quote"]
    assert (quote.points_total, quote.points_saved, str(quote.cash_total)) == (1700, 300, "19.80")
    assert (quote.balance, quote.balance_after) == (6000, 4300)
    assert 'data-testid="quote-points">1,700</dd>' in html
    assert 'data-testid="quote-saved">−300</dd>' in html
    assert 'data-testid="quote-cash">¥19.80</dd>' in html
    assert 'data-testid="quote-balance-after">4,300</dd>' in html
    assert "Li Lei" in html and "Wensan Road 1" in html
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', html)
    assert f'name="address" value="{address_id}"' in html
    assert "Redeem for 1,700 points" in html


def test_each_confirmation_page_gets_a_fresh_idempotency_key(client, buyer):
    product = make_product(kind=ProductKind.COUPON)

    first = client.get(_confirm_url(product)).context["idempotency_key"]
    second = client.get(_confirm_url(product)).context["idempotency_key"]

    assert first != second


def test_confirmation_uses_the_default_address_when_none_is_chosen(client, buyer):
    default = add_address(buyer, recipient="Home")
    add_address(buyer, recipient="Office")
    product = make_product()

    response = client.get(_confirm_url(product), {"quantity": 1})

    assert response.context["address"].id == default


def test_confirmation_without_any_address_for_physical_goods_says_add_one(client, buyer):
    product = make_product()

    html = client.get(_confirm_url(product)).content.decode()

    assert 'data-testid="address-missing"' in html
    assert re.search(r'data-testid="confirm-redeem"\s+disabled', html)


def test_confirmation_without_a_pin_links_to_the_pin_page(client):
    member = make_member(points=2000, pin=False)
    client.force_login(member)
    product = make_product(kind=ProductKind.VIRTUAL)

    html = client.get(_confirm_url(product)).content.decode()

    assert 'data-testid="pin-not-set"' in html
    assert f'href="{reverse("pin_manage")}" data-testid="set-pin-link"' in html
    assert reverse("pin_manage") == "/me/pin/"


def test_confirmation_get_shows_a_refusal_already(client, buyer):
    product = make_product(points_price=5000)

    response = client.get(_confirm_url(product))

    assert _refusal(response) == "Not enough points: you have 900, this needs 5000."
    assert response.context["quote"].balance_after == -4100
    html = response.content.decode()
    # What is missing, never a negative balance the member cannot have.
    assert 'data-testid="quote-shortfall">4,100</dd>' in html
    assert "quote-balance-after" not in html
    assert re.search(r'data-testid="confirm-redeem"\s+disabled', html)


def test_confirmation_of_an_off_shelf_product_is_404(client, buyer):
    product = make_product(on_shelf=False)

    assert client.get(_confirm_url(product)).status_code == 404
    assert _post(client, product).status_code == 404


def test_confirmation_needs_a_signed_in_member(client):
    product = make_product()

    response = client.get(_confirm_url(product))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_quantity_that_is_not_a_number_is_refused_with_a_message(client, buyer):
    product = make_product()

    response = client.get(_confirm_url(product), {"quantity": "many"})

    assert response.status_code == 200
    assert response.context["form_errors"] == ["Enter a whole number."]
    assert response.context["quote"] is None


# --- step 3: redeeming -------------------------------------------------------------------------


def test_redeeming_creates_the_order_and_shows_it_as_the_done_page(client, buyer):
    address_id = add_address(buyer)
    product = make_product(points_price=300, stock=5)

    response = _post(client, product, quantity=2, address=address_id)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('order_detail', args=[order.pk])}?placed=1"
    assert (order.member_id, order.quantity, order.points_total, order.status) == (
        buyer.pk,
        2,
        600,
        OrderStatus.APPROVED,
    )
    assert order.idempotency_key == f"web:{buyer.pk}:{KEY}"
    product.refresh_from_db()
    assert product.stock == 3
    done = client.get(response["Location"]).content.decode()
    assert 'data-testid="order-placed"' in done
    assert "600 points spent on" in done


def test_a_side_effect_failing_after_the_redemption_committed_does_not_turn_it_into_an_error(
    client, buyer, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """The low-stock alert is held in the job outbox with the order and relayed once it commits: a
    broker that refuses it is logged, the job stays held for the sweep, and the member still sees
    the order they placed (docs/decisions/0038)."""
    from catalog import jobs
    from pointsmall.outbox.models import OutboxJob

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(jobs.low_stock_notify, "apply_async", broker_down)
    address_id = add_address(buyer)
    product = make_product(points_price=300, stock=4, low_stock_threshold=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, product, quantity=1, address=address_id)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('order_detail', args=[order.pk])}?placed=1"
    product.refresh_from_db()
    assert product.stock == 3
    assert "broker unreachable" in caplog.text
    held = OutboxJob.objects.get()
    assert (held.task, held.args, held.sent_at, held.attempts) == ("catalog.low_stock_notify", [product.pk], None, 1)


def test_a_double_click_or_retried_post_creates_one_order(client, buyer):
    product = make_product(kind=ProductKind.VIRTUAL, stock=0)
    add_codes(product, 3)

    first = _post(client, product)
    second = _post(client, product)

    assert Order.objects.count() == 1
    assert first["Location"] == second["Location"]
    product.refresh_from_db()
    assert product.stock == 2


def test_the_done_page_of_a_code_order_shows_the_code_and_a_copy_button(client, buyer):
    product = make_product(kind=ProductKind.VIRTUAL, stock=0)
    [code, *_rest] = add_codes(product, 2)

    response = _post(client, product)
    html = client.get(response["Location"]).content.decode()

    assert f'value="{code}"' in html
    assert 'data-testid="copy-code"' in html
    assert 'data-copy="#order-code-value"' in html


def test_a_points_and_cash_order_offers_the_payment_page(client, buyer):
    add_address(buyer)
    product = make_product(cash_price="19.90")

    response = _post(client, product, address=buyer.addresses.get().pk)
    order = Order.objects.get()
    html = client.get(response["Location"]).content.decode()

    assert order.status == OrderStatus.AWAITING_PAYMENT
    # Starting a payment writes its reference: a form that POSTs, never a link (no writes on GET).
    assert f'<form method="post" action="{reverse("payment_start", args=[order.pk])}" data-once>' in html
    assert 'data-testid="pay-button"' in html
    assert "Pay ¥19.90" in html


def test_the_order_page_still_renders_when_the_payment_page_is_not_mounted(client, buyer, monkeypatch):
    add_address(buyer)
    product = make_product(cash_price="5.00")
    response = _post(client, product, address=buyer.addresses.get().pk)
    real_reverse = views.reverse

    def reverse_without_payments(name, *args, **kwargs):
        if name == "payment_start":
            raise NoReverseMatch(name)
        return real_reverse(name, *args, **kwargs)

    monkeypatch.setattr(views, "reverse", reverse_without_payments)
    page = client.get(response["Location"])

    assert page.status_code == 200
    assert 'data-testid="pay-unavailable"' in page.content.decode()


# --- refusals: shown on the confirmation page, nothing written ---------------------------------


def test_a_wrong_pin_says_how_many_attempts_are_left_and_writes_nothing_else(client, buyer):
    product = make_product(kind=ProductKind.COUPON, stock=0)
    add_codes(product, 1)
    before = written()

    response = _post(client, product, pin=WRONG_PIN)

    assert _refusal(response) == "Wrong PIN. 4 attempts left before PIN use is locked."
    assert written() == before
    assert PaymentPin.objects.get(user=buyer).failed_attempts == 1
    assert response.context["idempotency_key"] == KEY  # nothing was written: the same key may be retried


def test_the_fifth_wrong_pin_locks_pin_use_with_the_minutes_left(client, buyer):
    product = make_product(kind=ProductKind.COUPON, stock=0)
    add_codes(product, 1)
    for _ in range(4):
        _post(client, product, pin=WRONG_PIN)
    before = written()

    response = _post(client, product, pin=WRONG_PIN)

    assert _refusal(response) == "Too many wrong attempts: PIN use is locked. Try again in 15 minutes."
    assert response.context["pin_locked_minutes"] == 15
    assert written() == before
    right_pin_while_locked = _post(client, product, pin=PIN)
    assert _refusal(right_pin_while_locked).startswith("Too many wrong attempts")
    assert Order.objects.count() == 0


def test_no_pin_set_is_refused_with_a_link_to_set_one(client):
    member = make_member(points=2000, pin=False)
    client.force_login(member)
    product = make_product(kind=ProductKind.COUPON, stock=0)
    add_codes(product, 1)
    before = written()

    response = _post(client, product)

    assert _refusal(response) == "You have not set a payment PIN yet."
    assert 'data-testid="set-pin-link"' in response.content.decode()
    assert written() == before


def test_a_malformed_pin_is_a_form_error_and_not_a_counted_attempt(client, buyer):
    product = make_product(kind=ProductKind.COUPON, stock=0)
    add_codes(product, 1)
    before = written()

    response = _post(client, product, pin="12ab")

    assert response.context["pin_error"] == "The PIN must be exactly 6 digits."
    assert response.context["refusal"] is None
    assert written() == before
    assert PaymentPin.objects.get(user=buyer).failed_attempts == 0


def test_a_missing_or_forged_idempotency_key_is_refused(client, buyer):
    product = make_product(kind=ProductKind.COUPON, stock=0)
    add_codes(product, 1)
    before = written()

    response = _post(client, product, idempotency_key="../../other")

    assert response.context["form_errors"] == ["This form is out of date. Please try again."]
    assert written() == before


@pytest.mark.parametrize(
    ("setup", "quantity", "message"),
    [
        ("poor", 1, "Not enough points: you have 900, this needs 2500."),
        ("few_left", 3, "Only 2 left."),
        ("sold_out", 1, "Sold out."),
        ("per_order", 3, "You can redeem 1 to 2 of this item per order."),
        ("tier", 1, "This item is for Gold members and above."),
        ("ended", 1, "This item's redemption period has ended."),
        ("no_address", 1, "Choose a shipping address for this item."),
        ("no_codes", 1, "This item is out of codes at the moment."),
        ("cap", 1, "One order can use at most 1000 points."),
    ],
)
def test_refusals_are_shown_on_the_confirmation_page_and_write_nothing(
    client, buyer, settings, setup, quantity, message
):
    if setup == "cap":
        settings.CATALOG_ORDER_CAP_POINTS = 1000
    fields = {
        "poor": {"points_price": 2500, "kind": ProductKind.COUPON},
        "few_left": {"stock": 2, "kind": ProductKind.PRIVILEGE},
        "sold_out": {"stock": 0, "kind": ProductKind.PRIVILEGE},
        "per_order": {"per_order_limit": 2, "kind": ProductKind.PRIVILEGE},
        "tier": {"min_tier_rank": 2, "kind": ProductKind.PRIVILEGE},
        "ended": {
            "kind": ProductKind.PRIVILEGE,
            "sale_starts_at": timezone.now() - timedelta(days=2),
            "sale_ends_at": timezone.now() - timedelta(days=1),
        },
        "no_address": {"kind": ProductKind.PHYSICAL},
        "no_codes": {"kind": ProductKind.VIRTUAL, "stock": 5},
        "cap": {"points_price": 1200, "kind": ProductKind.PRIVILEGE},
    }[setup]
    product = make_product(**fields)
    before = written()

    response = _post(client, product, quantity=quantity)

    assert _refusal(response) == message
    assert written() == before


def test_a_sale_that_has_not_started_is_refused_with_its_start(client, buyer):
    product = make_product(kind=ProductKind.PRIVILEGE, sale_starts_at=timezone.now() + timedelta(hours=2))
    before = written()

    response = _post(client, product)

    assert _refusal(response).startswith("This item can be redeemed from ")
    assert written() == before


def test_daily_and_lifetime_limits_are_refused_with_what_is_left(client, buyer):
    daily = make_product(kind=ProductKind.PRIVILEGE, per_day_limit=1, points_price=100)
    lifetime = make_product(kind=ProductKind.PRIVILEGE, lifetime_limit=1, points_price=100)
    redeem(buyer, daily)
    redeem(buyer, lifetime)
    before = written()

    over_daily = _post(client, daily)
    over_lifetime = _post(client, lifetime, idempotency_key="f" * 32)

    assert _refusal(over_daily) == "You can redeem this 1 time(s) a day; you have 0 left today."
    assert _refusal(over_lifetime) == "You can redeem this 1 time(s) in total; you have 0 left."
    assert written() == before


def test_someone_elses_address_is_refused(client, buyer):
    stranger = make_member()
    their_address = add_address(stranger)
    product = make_product()
    before = written()

    response = _post(client, product, address=their_address)

    assert _refusal(response) == "This address does not exist."
    assert written() == before


def test_a_key_used_for_another_redemption_is_refused_and_replaced(client, buyer):
    first = make_product(kind=ProductKind.PRIVILEGE, points_price=100)
    second = make_product(kind=ProductKind.PRIVILEGE, points_price=100)
    _post(client, first)
    before = written()

    response = _post(client, second)

    assert _refusal(response) == "This request was already used for a different redemption."
    assert response.context["idempotency_key"] != KEY
    assert written() == before


# --- the product page's inline "new address" ----------------------------------------------------


def test_an_inline_address_is_saved_and_the_member_goes_on_to_confirm_with_it(client, buyer):
    product = make_product()

    response = client.post(
        reverse("redeem_address_add", args=[product.pk]),
        {
            "quantity": 2,
            "recipient": "韩梅梅",
            "phone": "+86 139 0000 1111",
            "province": "北京市",
            "city": "北京市",
            "district": "海淀区",
            "detail": "中关村大街 1 号",
            "postal_code": "100080",
        },
    )

    address = Address.objects.get(user=buyer)
    assert (address.recipient, address.phone, address.is_default) == ("韩梅梅", "13900001111", True)
    assert response.status_code == 302
    assert response["Location"] == f"{_confirm_url(product)}?quantity=2&address={address.pk}"


def test_an_invalid_inline_address_shows_its_errors_on_the_product_page_and_saves_nothing(client, buyer):
    product = make_product()

    response = client.post(
        reverse("redeem_address_add", args=[product.pk]),
        {
            "quantity": 1,
            "recipient": "X",
            "phone": "12345",
            "province": "",
            "city": "Hangzhou",
            "detail": "Road 1",
            "postal_code": "31",
        },
    )

    form = response.context["address_form"]
    assert response.status_code == 200
    # The address book's checks (accounts.forms.AddressFieldsForm): the bad phone is named with the rest.
    assert set(form.errors) == {"phone", "province", "postal_code"}
    assert form.errors["postal_code"] == ["A postal code is 6 digits, like 310000."]
    assert Address.objects.count() == 0
    assert 'class="address-add" open' in response.content.decode()


def test_an_inline_address_with_a_bad_phone_gets_the_accounts_message(client, buyer):
    product = make_product()

    response = client.post(
        reverse("redeem_address_add", args=[product.pk]),
        {
            "quantity": 1,
            "recipient": "X",
            "phone": "12345",
            "province": "Zhejiang",
            "city": "Hangzhou",
            "detail": "Road 1",
        },
    )

    assert response.context["address_form"].errors["phone"][0].startswith("Enter a mainland China mobile number")
    assert Address.objects.count() == 0


def test_the_inline_address_needs_a_post_and_a_signed_in_member(client):
    product = make_product()

    assert client.post(reverse("redeem_address_add", args=[product.pk]), {}).status_code == 302
    client.force_login(make_member())
    assert client.get(reverse("redeem_address_add", args=[product.pk])).status_code == 405
