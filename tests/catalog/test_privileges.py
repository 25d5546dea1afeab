"""Privilege items do what they say: a declared effect, applied once when the order completes;
an item whose effect isn't available can't be put on sale or redeemed (docs/decisions/0020)."""

from __future__ import annotations

import html
import importlib
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as global_apps
from django.core.exceptions import ValidationError

from catalog import services
from catalog.enums import OrderStatus, PrivilegeEffect, ProductKind
from catalog.exceptions import PrivilegeNotNeededError, PrivilegeUnavailableError
from catalog.models import Order, OrderEffect, Product
from catalog.services import privileges
from points import selectors as points_selectors
from points.models import Account, Tier, TierGrant
from tests.catalog.conftest import PIN
from tests.catalog.test_admin import product_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 10, 12, 0, tzinfo=SHANGHAI)
PRODUCTS_URL = "/admin/catalog/product/"

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


@pytest.fixture(autouse=True)
def _catalog_alone(monkeypatch):
    """The catalog on its own: only the tier trial is delivered. (The project wires the check-in
    cards in at start-up, pointsmall/privileges.py; tests/tasks/test_checkin_services.py covers that.)"""
    trial = privileges._APPLIERS[PrivilegeEffect.TIER_TRIAL]
    monkeypatch.setattr(privileges, "_APPLIERS", {PrivilegeEffect.TIER_TRIAL: trial})
    monkeypatch.setattr(privileges, "_REVERSERS", {})


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def gold_trial(make_product) -> Product:
    return make_product(
        name_en="Gold tier trial, 7 days",
        kind=ProductKind.PRIVILEGE,
        points_price=600,
        effect=PrivilegeEffect.TIER_TRIAL,
        effect_tier="gold",
        effect_days=7,
    )


def redeem(buyer, product, quantity=1, key=None) -> Order:
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=quantity,
        idempotency_key=key or f"priv-{buyer.pk}-{product.pk}-{Order.objects.count()}",
        pin=PIN,
    )


def earned(user, code: str) -> None:
    """Test setup: the member earned this tier (tiers themselves are tested in tests/points)."""
    Account.objects.filter(user=user).update(tier=Tier.objects.get(code=code))


def grants(user) -> list[tuple[str, datetime, datetime]]:
    return list(
        TierGrant.objects.filter(account__user=user)
        .order_by("starts_at")
        .values_list("tier__code", "starts_at", "ends_at")
    )


@contextmanager
def nothing_more(check):
    """``nothing_written`` plus the two tables a privilege writes."""
    before = (OrderEffect.objects.count(), TierGrant.objects.count())
    with check():
        yield
    assert (OrderEffect.objects.count(), TierGrant.objects.count()) == before


# --- Redeeming a tier trial --------------------------------------------------------------------


def test_a_tier_trial_is_delivered_when_its_order_completes(buyer, gold_trial, make_product):
    order = redeem(buyer, gold_trial)

    assert order.status == OrderStatus.COMPLETED
    effect = OrderEffect.objects.get(order=order)
    assert (effect.effect, effect.tier, effect.days, effect.applied_at) == ("tier_trial", "gold", 7, T0)
    assert (effect.starts_at, effect.ends_at, effect.reference) == (
        T0,
        T0 + timedelta(days=7),
        f"catalog.order:{order.pk}:effect",
    )
    assert grants(buyer) == [("gold", T0, T0 + timedelta(days=7))]
    # Gold's benefits apply at once: price percent, multiplier, header, tier requirements.
    assert points_selectors.member_tier(user_id=buyer.pk).code == "gold"
    assert points_selectors.earned_tier(user_id=buyer.pk).code == "regular"
    assert points_selectors.header_status(user_id=buyer.pk) == (1400, "Gold")
    gold_only = make_product(name_en="Lounge", kind=ProductKind.PRIVILEGE, min_tier_rank=2, points_price=1000)
    quote = services.redemption_quote(user_id=buyer.pk, product_id=gold_only.pk, quantity=1)
    assert (quote.points_total, quote.points_saved) == (850, 150)  # Gold pays 85%


def test_the_trial_ends_by_itself_and_the_member_is_back_to_the_earned_tier(buyer, gold_trial, make_product, clock):
    redeem(buyer, gold_trial)
    clock.move_to(T0 + timedelta(days=7) - timedelta(seconds=1))
    assert points_selectors.member_tier(user_id=buyer.pk).code == "gold"
    clock.move_to(T0 + timedelta(days=7))
    assert points_selectors.member_tier(user_id=buyer.pk).code == "regular"
    assert points_selectors.header_status(user_id=buyer.pk) == (1400, "Regular")
    item = make_product(name_en="Mug", points_price=1000)
    assert services.redemption_quote(user_id=buyer.pk, product_id=item.pk, quantity=1).points_total == 1000


def test_two_trials_follow_each_other_and_a_quantity_multiplies_the_days(make_buyer, gold_trial):
    buyer = make_buyer(5000)
    redeem(buyer, gold_trial, quantity=2)
    redeem(buyer, gold_trial)
    week = timedelta(days=7)
    assert grants(buyer) == [("gold", T0, T0 + 2 * week), ("gold", T0 + 2 * week, T0 + 3 * week)]


def test_a_trial_of_a_tier_the_member_already_earned_is_not_sold(buyer, gold_trial, nothing_written):
    earned(buyer, "gold")
    with nothing_more(nothing_written), pytest.raises(PrivilegeNotNeededError, match=r"already enjoy Gold or higher"):
        redeem(buyer, gold_trial)
    earned(buyer, "diamond")
    with pytest.raises(PrivilegeNotNeededError):
        services.redemption_quote(user_id=buyer.pk, product_id=gold_trial.pk, quantity=1)


def test_a_lower_trial_never_lowers_a_member(buyer, make_product):
    silver = make_product(name_en="Silver trial", kind=ProductKind.PRIVILEGE, points_price=100)  # Silver, 7 days
    earned(buyer, "silver")
    with pytest.raises(PrivilegeNotNeededError):
        redeem(buyer, silver)
    earned(buyer, "regular")
    redeem(buyer, silver)
    earned(buyer, "gold")  # earns Gold during the Silver trial
    assert points_selectors.member_tier(user_id=buyer.pk).code == "gold"


def test_a_reviewed_trial_is_delivered_on_approval_with_what_was_bought(buyer, gold_trial, operator, clock):
    Product.objects.filter(pk=gold_trial.pk).update(requires_review=True)
    order = redeem(buyer, gold_trial)
    assert order.status == OrderStatus.PENDING_REVIEW
    assert OrderEffect.objects.get(order=order).applied_at is None
    assert grants(buyer) == []
    # The operator shortens the product afterwards: the member still gets the 7 days they bought.
    Product.objects.filter(pk=gold_trial.pk).update(effect_days=1)
    clock.move_to(T0 + timedelta(hours=2))
    services.order_approve(order_id=order.pk, actor_id=operator.pk)
    later = T0 + timedelta(hours=2)
    assert grants(buyer) == [("gold", later, later + timedelta(days=7))]
    assert OrderEffect.objects.get(order=order).applied_at == later


def test_a_points_and_cash_trial_is_delivered_once_paid(buyer, make_product, operator):
    product = make_product(kind=ProductKind.PRIVILEGE, points_price=100, cash_price=Decimal("9.90"))
    order = redeem(buyer, product)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert grants(buyer) == []
    services.order_mark_paid(order_id=order.pk, payment_reference="offline:1", actor_id=operator.pk)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED
    assert grants(buyer) == [("silver", T0, T0 + timedelta(days=7))]
    services.order_mark_paid(order_id=order.pk, payment_reference="offline:1", actor_id=operator.pk)  # replayed
    assert len(grants(buyer)) == 1


def test_a_trial_cancelled_before_completion_gives_nothing(buyer, gold_trial):
    Product.objects.filter(pk=gold_trial.pk).update(requires_review=True)
    order = redeem(buyer, gold_trial)
    services.order_cancel(order_id=order.pk, member_id=buyer.pk)
    assert grants(buyer) == []
    assert OrderEffect.objects.get(order=order).applied_at is None
    assert privileges.order_effect_apply(order=Order.objects.get(pk=order.pk)) is None  # not completed


def test_applying_an_effect_twice_is_one_effect(buyer, gold_trial):
    order = redeem(buyer, gold_trial)
    again = privileges.order_effect_apply(order=Order.objects.get(pk=order.pk))
    assert again.applied_at == T0
    assert len(grants(buyer)) == 1


def test_orders_of_other_kinds_cost_no_query_at_completion(
    buyer, make_product, make_address, django_assert_num_queries
):
    order = services.order_redeem(
        user_id=buyer.pk,
        product_id=make_product().pk,
        quantity=1,
        idempotency_key="mug",
        pin=PIN,
        address_id=make_address(buyer),
    )
    order.status = OrderStatus.COMPLETED
    with django_assert_num_queries(0):
        assert privileges.order_effect_apply(order=order) is None
    assert not OrderEffect.objects.exists()


# --- What can't be sold --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"effect": ""},  # a privilege that does nothing (the old "Free shipping pass")
        {"effect": PrivilegeEffect.MAKEUP_CARD, "effect_tier": "", "effect_days": None},
        {
            "effect": PrivilegeEffect.CHECKIN_MULTIPLIER,
            "effect_tier": "",
            "effect_days": 7,
            "effect_multiplier": Decimal("2"),
        },
    ],
)
def test_a_privilege_without_an_available_effect_is_refused_even_if_on_the_shelf(
    buyer, make_product, nothing_written, fields
):
    product = make_product(kind=ProductKind.PRIVILEGE, points_price=100, on_shelf=False, **fields)
    Product.objects.filter(pk=product.pk).update(on_shelf=True)  # past the form, e.g. a bulk update
    message = r"^This privilege can't be redeemed yet: what it would give is not available\.$"
    with nothing_more(nothing_written), pytest.raises(PrivilegeUnavailableError, match=message):
        redeem(buyer, product)
    with pytest.raises(PrivilegeUnavailableError):
        services.redemption_quote(user_id=buyer.pk, product_id=product.pk, quantity=1)


def _errors(product: Product) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    return caught.value.message_dict


def _product(category, **fields) -> Product:
    values = {"name_zh": "卡", "name_en": "Card", "category": category, "kind": ProductKind.PRIVILEGE}
    values |= {"points_price": 100, "on_shelf": True} | fields
    return Product(**values)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"on_shelf": ["Choose what this privilege does (its effect) before putting it on sale."]}),
        (
            {"effect": "makeup_card"},
            {"on_shelf": ["“Make-up check-in card” is not available yet: this item can't be put on sale."]},
        ),
        (
            {"effect": "checkin_multiplier", "effect_days": 7},
            {
                "effect_multiplier": ["Required for this effect."],
                "on_shelf": ["“Check-in points multiplier” is not available yet: this item can't be put on sale."],
            },
        ),
        (
            {"effect": "tier_trial"},
            {"effect_tier": ["Required for this effect."], "effect_days": ["Required for this effect."]},
        ),
        (
            {"effect": "tier_trial", "effect_tier": "regular", "effect_days": 7},
            {"effect_tier": ["Everyone has the entry tier: choose a higher one."]},
        ),
        (
            {"effect": "tier_trial", "effect_tier": "platinum", "effect_days": 7},
            {"effect_tier": ["There is no tier “platinum”."]},
        ),
        (
            {"effect": "tier_trial", "effect_tier": "gold", "effect_days": 0},
            {"effect_days": ["Between 1 and 366 days."]},
        ),
        (
            {"effect": "tier_trial", "effect_tier": "gold", "effect_days": 7, "effect_multiplier": Decimal("2")},
            {"effect_multiplier": ["Not used by this effect: leave it empty."]},
        ),
        (
            {"kind": ProductKind.PHYSICAL, "effect": "tier_trial", "effect_tier": "gold", "effect_days": 7},
            {"effect": ["Only privilege items have an effect."]},
        ),
    ],
)
def test_the_product_refuses_an_effect_it_cannot_deliver(category, fields, errors):
    found = _errors(_product(category, **fields))
    for field, messages in errors.items():
        assert found.get(field) == messages, found
    assert set(found) - {"__all__"} == set(errors), found


def test_an_effect_that_is_not_available_yet_may_be_prepared_off_the_shelf(category):
    _product(
        category, on_shelf=False, effect="checkin_multiplier", effect_days=7, effect_multiplier=Decimal("2")
    ).full_clean()
    _product(category, on_shelf=False).full_clean()
    _product(category, effect="tier_trial", effect_tier="gold", effect_days=7).full_clean()


def test_the_admin_form_refuses_to_put_an_unavailable_privilege_on_sale(admin_client, category):
    data = product_form(category, kind=ProductKind.PRIVILEGE, effect="makeup_card", initial_stock="10")
    response = admin_client.post(f"{PRODUCTS_URL}add/", data)
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert "is not available yet: this item can't be put on sale." in text
    assert not Product.objects.exists()

    response = admin_client.post(f"{PRODUCTS_URL}add/", {**data, "on_shelf": ""})
    assert response.status_code == 302
    assert Product.objects.get().on_shelf is False

    response = admin_client.post(
        f"{PRODUCTS_URL}add/",
        {**data, "name_en": "Gold trial", "effect": "tier_trial", "effect_tier": "gold", "effect_days": "7"},
    )
    assert response.status_code == 302
    trial = Product.objects.get(name_en="Gold trial")
    assert (trial.on_shelf, trial.effect, trial.effect_tier, trial.effect_days) == (True, "tier_trial", "gold", 7)


def test_the_put_on_shelf_action_leaves_unavailable_privileges_off(admin_client, make_product):
    card = make_product(name_en="Make-up card", kind=ProductKind.PRIVILEGE, effect="makeup_card", on_shelf=False)
    trial = make_product(name_en="Trial", kind=ProductKind.PRIVILEGE, on_shelf=False)
    mug = make_product(name_en="Mug", on_shelf=False)
    response = admin_client.post(
        PRODUCTS_URL, {"action": "put_on_shelf", "_selected_action": [card.pk, trial.pk, mug.pk]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "2 products put on the shelf.",
        "Not put on sale, their effect is not available yet: Make-up card",
    ]
    assert dict(Product.objects.values_list("name_en", "on_shelf")) == {
        "Make-up card": False,
        "Trial": True,
        "Mug": True,
    }


def test_the_data_migration_takes_every_privilege_without_an_available_effect_off_the_shelf(make_product):
    migration = importlib.import_module("catalog.migrations.0006_privileges_off_shelf_until_effect")
    pass_ = make_product(name_en="Free shipping pass", kind=ProductKind.PRIVILEGE, effect="", on_shelf=False)
    card = make_product(
        name_en="Double check-in",
        kind=ProductKind.PRIVILEGE,
        effect="checkin_multiplier",
        effect_days=7,
        effect_multiplier=2,
        on_shelf=False,
    )
    make_product(name_en="Trial", kind=ProductKind.PRIVILEGE)
    make_product(name_en="Mug")
    Product.objects.filter(pk__in=[pass_.pk, card.pk]).update(on_shelf=True)  # as they were before

    migration.take_off_shelf(global_apps, None)
    migration.take_off_shelf(global_apps, None)  # idempotent

    assert dict(Product.objects.values_list("name_en", "on_shelf")) == {
        "Free shipping pass": False,
        "Double check-in": False,
        "Trial": True,
        "Mug": True,
    }


# --- Effects delivered by another app (the check-in cards, later) -----------------------------------


def test_an_effect_becomes_sellable_once_a_service_delivers_it(buyer, make_product, category, monkeypatch):
    delivered = []

    def makeup_cards(*, user_id, quantity, params, idempotency_key, reference):
        delivered.append((user_id, quantity, idempotency_key))
        return privileges.Delivery(reference=f"cards:{idempotency_key}")

    monkeypatch.setattr(privileges, "_APPLIERS", dict(privileges._APPLIERS))
    assert privileges.available_effects() == ["tier_trial"]
    privileges.privilege_effect_register(effect=PrivilegeEffect.MAKEUP_CARD, applier=makeup_cards)
    assert privileges.available_effects() == ["tier_trial", "makeup_card"]
    _product(category, effect="makeup_card").full_clean()

    card = make_product(kind=ProductKind.PRIVILEGE, effect="makeup_card", points_price=20)
    order = redeem(buyer, card, quantity=2)

    assert delivered == [(buyer.pk, 2, f"catalog.order:{order.pk}:effect")]
    assert OrderEffect.objects.get(order=order).reference == f"cards:catalog.order:{order.pk}:effect"
    with pytest.raises(ValueError, match="unknown privilege effect"):
        privileges.privilege_effect_register(effect="free_shipping", applier=makeup_cards)
