"""What the member confirms is what is charged (docs/decisions/0016).

The confirmation page signs the totals it shows (points and cash, for this member, product
and quantity); the POST carries them back; the redemption charges exactly those or nothing.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import signing
from django.db import connection
from django.urls import reverse

from accounts import services as accounts_services
from accounts.models import PaymentPin
from catalog import services
from catalog.enums import PrivilegeEffect, ProductKind
from catalog.models import Order, Product, SalePrice
from catalog.services import redemption
from points import confirmation
from points import selectors as points_selectors
from points import services as points_services
from points.confirmation import Totals
from points.exceptions import ConfirmationInvalidError, PriceChangedError
from points.models import Tier
from tests.catalog.conftest import PIN, WRONG_PIN, balance
from tests.catalog.test_concurrency import run_parallel

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)
KEY = "0123456789abcdef0123456789abcdef"

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def item(make_product) -> Product:
    """A digital privilege at 100 points: no address, no code pool, 10 in stock."""
    return make_product(kind=ProductKind.PRIVILEGE, points_price=100)


def redeem(buyer, product, confirmed: Totals | None, *, quantity=1, key="k-1", pin=PIN, address_id=None) -> Order:
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=quantity,
        idempotency_key=key,
        pin=pin,
        address_id=address_id,
        confirmed=confirmed,
    )


def quoted(buyer, product, quantity=1) -> Totals:
    """The totals the confirmation page shows this member now."""
    return services.redemption_quote(user_id=buyer.pk, product_id=product.pk, quantity=quantity).totals


def set_price(product: Product, **fields) -> None:
    """An operator edits the product (admin saves the row)."""
    Product.objects.filter(pk=product.pk).update(**fields)


# --- the shared token ---------------------------------------------------------------------------


def test_a_token_reads_back_only_for_its_purpose_member_and_subject():
    totals = Totals(points=300, cash=Decimal("12.5"))
    token = confirmation.confirmation_sign(
        purpose="catalog.redeem", user_id=7, subject="product:1:quantity:2", totals=totals
    )

    assert confirmation.confirmation_read(
        token=token, purpose="catalog.redeem", user_id=7, subject="product:1:quantity:2"
    ) == Totals(points=300, cash=Decimal("12.50"))
    for purpose, user_id, subject in [
        ("lottery.draw", 7, "product:1:quantity:2"),
        ("catalog.redeem", 8, "product:1:quantity:2"),
        ("catalog.redeem", 7, "product:2:quantity:2"),
        ("catalog.redeem", 7, "product:1:quantity:1"),
    ]:
        with pytest.raises(ConfirmationInvalidError):
            confirmation.confirmation_read(token=token, purpose=purpose, user_id=user_id, subject=subject)
    for bad in ["", "x" * 1001, token[:-1] + ("A" if token[-1] != "A" else "B"), token.replace(":", ";", 1)]:
        with pytest.raises(ConfirmationInvalidError):
            confirmation.confirmation_read(
                token=bad, purpose="catalog.redeem", user_id=7, subject="product:1:quantity:2"
            )


def test_a_token_signed_with_another_key_is_refused(settings):
    token = signing.dumps(
        {"u": 7, "s": "s", "p": 1, "c": "0.00"}, key="not-our-secret", salt="pointsmall.confirmation:catalog.redeem"
    )
    with pytest.raises(ConfirmationInvalidError):
        confirmation.confirmation_read(token=token, purpose="catalog.redeem", user_id=7, subject="s")


def test_confirmation_check_names_the_new_totals_and_refuses_a_lower_price_too():
    confirmation.confirmation_check(confirmed=Totals(100, Decimal("9.9")), actual=Totals(100, Decimal("9.90")))
    cases = [
        (Totals(300), "300 points"),
        (Totals(1), "1 point"),
        (Totals(1200, Decimal("12.5")), "1,200 points + ¥12.50"),
        (Totals(0, Decimal("3")), "¥3.00"),
        (Totals(50), "50 points"),
    ]
    for actual, text in cases:
        with pytest.raises(PriceChangedError) as refused:
            confirmation.confirmation_check(confirmed=Totals(100, Decimal("9.90")), actual=actual)
        assert refused.value.code == "price_changed"
        assert refused.value.message == (
            f"The price has changed: it is now {text}. Nothing was charged; check the new price and confirm again."
        )


# --- the service: the price at submit against the confirmed totals -------------------------------


def test_a_price_raised_between_confirm_and_submit_charges_nothing(make_buyer, item, nothing_written):
    buyer = make_buyer(2000)
    confirmed = quoted(buyer, item)
    assert confirmed == Totals(100)
    set_price(item, points_price=300)

    with nothing_written(), pytest.raises(PriceChangedError) as refused:
        redeem(buyer, item, confirmed)

    assert refused.value.message == (
        "The price has changed: it is now 300 points. Nothing was charged; check the new price and confirm again."
    )
    assert balance(buyer) == 2000
    order = redeem(buyer, item, quoted(buyer, item))
    assert (order.points_total, order.unit_points, order.cash_total) == (300, 300, Decimal("0.00"))
    assert balance(buyer) == 1700


def test_a_changed_price_is_refused_before_the_pin_so_a_wrong_pin_is_not_counted(make_buyer, item, nothing_written):
    buyer = make_buyer(2000)
    confirmed = quoted(buyer, item)
    set_price(item, points_price=300)

    with nothing_written(), pytest.raises(PriceChangedError):
        redeem(buyer, item, confirmed, pin=WRONG_PIN)

    assert PaymentPin.objects.get(user=buyer).failed_attempts == 0


def test_a_price_changed_after_the_pin_check_is_refused_by_the_transaction(
    make_buyer, item, nothing_written, monkeypatch
):
    buyer = make_buyer(2000)
    confirmed = quoted(buyer, item)
    real_pin_verify = accounts_services.pin_verify

    def pin_then_operator_edits(**kwargs):
        real_pin_verify(**kwargs)
        set_price(item, points_price=120)

    monkeypatch.setattr(accounts_services, "pin_verify", pin_then_operator_edits)

    with nothing_written(), pytest.raises(PriceChangedError) as refused:
        redeem(buyer, item, confirmed)

    assert "it is now 120 points" in refused.value.message
    assert Product.objects.get(pk=item.pk).points_price == 120


def test_a_lower_price_is_confirmed_again_too(make_buyer, item, nothing_written):
    buyer = make_buyer(2000)
    confirmed = quoted(buyer, item)
    set_price(item, points_price=60)

    with nothing_written(), pytest.raises(PriceChangedError) as refused:
        redeem(buyer, item, confirmed)

    assert "it is now 60 points" in refused.value.message


def test_a_sale_that_ends_between_confirm_and_submit_charges_nothing(make_buyer, item, nothing_written, clock):
    SalePrice.objects.create(
        product=item, points_price=80, starts_at=T0 - timedelta(days=1), ends_at=T0 + timedelta(hours=1)
    )
    buyer = make_buyer(2000)
    confirmed = quoted(buyer, item, quantity=2)
    assert confirmed == Totals(160)
    clock.move_to(T0 + timedelta(hours=1))

    with nothing_written(), pytest.raises(PriceChangedError) as refused:
        redeem(buyer, item, confirmed, quantity=2)

    assert "it is now 200 points" in refused.value.message
    order = redeem(buyer, item, Totals(200), quantity=2)
    assert (order.quantity, order.points_total, order.points_saved) == (2, 200, 0)
    assert balance(buyer) == 1800


def test_a_tier_dropped_between_confirm_and_submit_charges_nothing(make_buyer, make_product, fund, nothing_written):
    # A Diamond trial: worth buying for a Gold or Silver member alike (docs/decisions/0020).
    product = make_product(
        kind=ProductKind.PRIVILEGE,
        points_price=1000,
        effect=PrivilegeEffect.TIER_TRIAL,
        effect_tier="diamond",
        effect_days=7,
    )
    buyer = make_buyer(0)
    points_services.points_earn(user_id=buyer.pk, amount=5000, idempotency_key="qualify-for-gold")
    assert points_selectors.member_tier(user_id=buyer.pk).code == "gold"
    confirmed = quoted(buyer, product)
    assert confirmed == Totals(850)
    # The monthly recalculation, a year on: the earned points left the window, one step down.
    report = points_services.points_tiers_recalculate(now=datetime.now(tz=SHANGHAI) + timedelta(days=400))
    assert report.downgraded == 1
    assert points_selectors.member_tier(user_id=buyer.pk).code == "silver"

    with nothing_written(), pytest.raises(PriceChangedError) as refused:
        redeem(buyer, product, confirmed)

    assert "it is now 950 points" in refused.value.message
    assert balance(buyer) == 5000


def test_a_tier_benefit_edited_between_confirm_and_submit_charges_nothing(make_buyer, make_product, nothing_written):
    # A Diamond trial: worth buying for a Gold or Silver member alike (docs/decisions/0020).
    product = make_product(
        kind=ProductKind.PRIVILEGE,
        points_price=1000,
        effect=PrivilegeEffect.TIER_TRIAL,
        effect_tier="diamond",
        effect_days=7,
    )
    buyer = make_buyer(0)
    points_services.points_earn(user_id=buyer.pk, amount=5000, idempotency_key="qualify-for-gold")
    confirmed = quoted(buyer, product)
    Tier.objects.filter(code="gold").update(price_percent=90)

    with nothing_written(), pytest.raises(PriceChangedError) as refused:
        redeem(buyer, product, confirmed)

    assert "it is now 900 points" in refused.value.message


def test_a_changed_cash_part_charges_nothing(make_buyer, make_product, make_address, nothing_written):
    product = make_product(points_price=100, cash_price=Decimal("9.90"))
    buyer = make_buyer(2000)
    address_id = make_address(buyer)
    confirmed = quoted(buyer, product, quantity=2)
    assert confirmed == Totals(200, Decimal("19.80"))
    set_price(product, cash_price=Decimal("12.50"))

    with nothing_written(), pytest.raises(PriceChangedError) as refused:
        redeem(buyer, product, confirmed, quantity=2, address_id=address_id)

    assert refused.value.message == (
        "The price has changed: it is now 200 points + ¥25.00. Nothing was charged; "
        "check the new price and confirm again."
    )
    order = redeem(buyer, product, Totals(200, Decimal("25.00")), quantity=2, address_id=address_id)
    assert (order.points_total, order.cash_total) == (200, Decimal("25.00"))


def test_a_replay_after_a_price_change_returns_the_first_order_at_its_price(make_buyer, item, nothing_written):
    buyer = make_buyer(2000)
    first = redeem(buyer, item, Totals(100), key="double-click")
    set_price(item, points_price=300)

    with nothing_written():
        again = redeem(buyer, item, Totals(100), key="double-click")
        also = redeem(buyer, item, Totals(300), key="double-click")

    assert again.pk == first.pk == also.pk
    assert Order.objects.get().points_total == 100
    assert balance(buyer) == 1900


def test_callers_without_a_confirmation_are_charged_the_price_now(make_buyer, item):
    buyer = make_buyer(2000)
    set_price(item, points_price=300)

    order = redeem(buyer, item, None)

    assert order.points_total == 300


# --- the page: the token travels with the form ----------------------------------------------------


def confirm_url(product) -> str:
    return reverse("redeem_confirm", args=[product.pk])


def page_token(client, product, quantity=1) -> str:
    html = client.get(confirm_url(product), {"quantity": quantity}).content.decode()
    match = re.search(r'name="confirmation" value="([^"]+)" data-testid="confirmation"', html)
    assert match is not None
    return match.group(1)


def post(client, product, token: str | None, **data):
    values = {"quantity": 1, "pin": PIN, "idempotency_key": KEY, "confirmation": token}
    values.update(data)
    return client.post(confirm_url(product), {k: v for k, v in values.items() if v is not None})


@pytest.fixture
def member_client(client, make_buyer):
    buyer = make_buyer(2000)
    client.force_login(buyer)
    client.buyer = buyer
    return client


def test_the_page_charges_exactly_what_it_showed(member_client, make_product, nothing_written):
    product = make_product(kind=ProductKind.PRIVILEGE, points_price=150)
    token = page_token(member_client, product, quantity=3)

    response = post(member_client, product, token, quantity=3)

    order = Order.objects.get()
    assert response.status_code == 302
    assert (order.quantity, order.points_total, order.cash_total) == (3, 450, Decimal("0.00"))
    assert balance(member_client.buyer) == 1550


def test_the_page_comes_back_with_the_new_price_and_a_fresh_token(member_client, item, nothing_written):
    token = page_token(member_client, item)
    set_price(item, points_price=300)

    with nothing_written():
        response = post(member_client, item, token)

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["refusal"].code == "price_changed"
    assert response.context["refusal"].message == (
        "The price has changed: it is now 300 points. Nothing was charged; check the new price and confirm again."
    )
    assert 'data-testid="quote-points">300</dd>' in html
    assert "Redeem for 300 points" in html
    assert response.context["idempotency_key"] == KEY  # nothing was written: the same attempt goes on
    fresh = response.context["confirmation"]
    assert fresh != token
    assert services.redemption_confirmation_read(
        token=fresh, user_id=member_client.buyer.pk, product_id=item.pk, quantity=1
    ) == Totals(300)

    confirmed = post(member_client, item, fresh)

    assert confirmed.status_code == 302
    assert Order.objects.get().points_total == 300
    assert balance(member_client.buyer) == 1700


def tampered(token: str) -> str:
    """The same token with the confirmed points changed from 100 to 1 (the signature no longer fits)."""
    payload, timestamp, signature = token.split(":")
    data = signing.b64_decode(payload.encode()).decode()
    assert '"p":100' in data
    forged = signing.b64_encode(data.replace('"p":100', '"p":1').encode()).decode()
    return f"{forged}:{timestamp}:{signature}"


@pytest.mark.parametrize(
    "case", ["tampered", "missing", "empty", "garbage", "other_product", "other_member", "other_quantity"]
)
def test_a_token_that_does_not_fit_is_a_400_that_writes_nothing(
    member_client, item, make_product, make_buyer, nothing_written, case
):
    buyer = member_client.buyer
    own = page_token(member_client, item)
    other_product = make_product(kind=ProductKind.PRIVILEGE, points_price=100)
    stranger = make_buyer(2000)
    sign = services.redemption_confirmation_sign
    token = {
        "tampered": tampered(own),
        "missing": None,
        "empty": "",
        "garbage": "not-a-token",
        "other_product": sign(user_id=buyer.pk, product_id=other_product.pk, quantity=1, totals=Totals(100)),
        "other_member": sign(user_id=stranger.pk, product_id=item.pk, quantity=1, totals=Totals(100)),
        "other_quantity": sign(user_id=buyer.pk, product_id=item.pk, quantity=2, totals=Totals(200)),
    }[case]

    with nothing_written():
        response = post(member_client, item, token, pin=WRONG_PIN)

    assert response.status_code == 400
    assert response.context["refusal"].code == "confirmation_invalid"
    assert response.context["refusal"].message == (
        "This confirmation is out of date or not valid, so nothing was charged. Check the price and confirm again."
    )
    assert 'data-testid="redeem-error" data-code="confirmation_invalid"' in response.content.decode()
    # The page offers a fresh, valid confirmation of today's price.
    assert services.redemption_confirmation_read(
        token=response.context["confirmation"], user_id=buyer.pk, product_id=item.pk, quantity=1
    ) == Totals(100)
    assert balance(buyer) == 2000


def test_a_replayed_post_after_a_price_change_shows_the_first_order(member_client, item, nothing_written):
    token = page_token(member_client, item)
    first = post(member_client, item, token)
    set_price(item, points_price=300)

    with nothing_written():
        again = post(member_client, item, token)

    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    assert Order.objects.get().points_total == 100
    assert balance(member_client.buyer) == 1900


# --- Postgres: an operator changes the price while members are submitting -------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_price_edited_while_a_redemption_is_in_flight(make_product, make_buyer, monkeypatch):
    """Member A's transaction has priced the order (100, as confirmed) when an operator commits 300.

    A is charged the 100 it confirmed and computed under its lock; member B, who confirmed
    100 too but submits after the edit, is refused and charged nothing; later confirmations
    are at 300 and charged 300.
    """
    product = make_product(kind=ProductKind.PRIVILEGE, points_price=100, stock=5)
    member_a, member_b, member_c = make_buyer(1000), make_buyer(1000), make_buyer(1000)
    a_priced, resume = threading.Event(), threading.Event()
    real_check = redemption.confirmation_check

    def check_then_pause(**kwargs):
        real_check(**kwargs)
        if connection.in_atomic_block and threading.current_thread().name == "member-a":
            a_priced.set()
            assert resume.wait(timeout=60)

    monkeypatch.setattr(redemption, "confirmation_check", check_then_pause)

    def a_submits():
        threading.current_thread().name = "member-a"
        try:
            return redeem(member_a, product, Totals(100), key="a")
        finally:
            threading.current_thread().name = "worker"

    def operator_edits_then_b_submits():
        assert a_priced.wait(timeout=60)
        set_price(product, points_price=300)
        try:
            return redeem(member_b, product, Totals(100), key="b")
        except PriceChangedError as refused:
            return refused
        finally:
            resume.set()

    a_result, b_result = run_parallel([a_submits, operator_edits_then_b_submits])

    assert isinstance(a_result, Order) and a_result.points_total == 100
    assert isinstance(b_result, PriceChangedError) and "it is now 300 points" in b_result.message
    assert (balance(member_a), balance(member_b)) == (900, 1000)
    assert list(Order.objects.values_list("member_id", "points_total")) == [(member_a.pk, 100)]
    assert PaymentPin.objects.get(user=member_b).failed_attempts == 0
    late = redeem(member_c, product, quoted(member_c, product), key="c")
    assert (late.points_total, balance(member_c)) == (300, 700)
    product.refresh_from_db()
    assert (product.points_price, product.stock, product.sold) == (300, 3, 2)


def test_the_new_price_reads_in_chinese_too():
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(PriceChangedError) as refused:
        confirmation.confirmation_check(confirmed=Totals(100), actual=Totals(1200, Decimal("12.50")))

    assert refused.value.message == "价格已变更，现为1,200积分 + ¥12.50。未扣除任何积分或金额，请核对新价格后重新确认。"
