"""A completed privilege order can be cancelled while its effect is unused: the effect is taken back
by its deliverer's reverser, then the order is undone like any cancel (docs/decisions/0020)."""

from __future__ import annotations

import html
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from catalog import notices, selectors, services
from catalog.enums import OrderStatus, PrivilegeEffect, ProductKind, RefundStatus
from catalog.exceptions import InvalidTransitionError, OrderNotFoundError, PrivilegeInUseError
from catalog.models import CashRefund, Order, OrderEffect, OrderEvent, Product
from catalog.services import privileges
from points import services as points_services
from points import signals as points_signals
from points.models import Entry, TierGrant
from tests.catalog.conftest import PIN, balance
from tests.concurrency import outcome_counts, run_together

# The dialog's answer (static/js/dialogs.js); without it the server asks first.
CONFIRMED = {"confirmed": "1"}

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 10, 12, 0, tzinfo=SHANGHAI)
LATER = T0 + timedelta(hours=3)
ORDERS_URL = "/admin/catalog/order/"

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cards():
    """The make-up check-in card delivered (and taken back) by a stand-in for the check-in app.

    ``cards.unused`` is what the reverser answers; ``applied`` and ``reversed`` record the calls.
    """
    calls = SimpleNamespace(applied=[], reversed=[], unused=True)

    def applier(*, user_id, quantity, params, idempotency_key, reference):
        calls.applied.append((user_id, quantity, idempotency_key))
        return privileges.Delivery(reference=f"cards:{idempotency_key}")

    def reverser(*, user_id, idempotency_key):
        calls.reversed.append((user_id, idempotency_key))
        return calls.unused

    effect = PrivilegeEffect.MAKEUP_CARD
    saved = {name: getattr(privileges, name).get(effect) for name in ("_APPLIERS", "_REVERSERS")}
    privileges.privilege_effect_register(effect=effect, applier=applier, reverser=reverser)
    yield calls
    for name, entry in saved.items():
        registry = getattr(privileges, name)
        if entry is None:
            registry.pop(effect, None)
        else:
            registry[effect] = entry


@pytest.fixture
def card(cards, make_product) -> Product:
    """A make-up check-in card on the shelf: 300 points, 10 in stock."""
    return make_product(
        name_en="Make-up check-in card", kind=ProductKind.PRIVILEGE, effect="makeup_card", points_price=300
    )


@pytest.fixture
def refunds():
    """What points_refunded announced: (user_id, reference, full)."""
    heard = []

    def receiver(sender, user_id, reference, full, **kwargs):
        heard.append((user_id, reference, full))

    points_signals.points_refunded.connect(receiver)
    yield heard
    points_signals.points_refunded.disconnect(receiver)


def redeem(buyer, product, quantity=1) -> Order:
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=quantity,
        idempotency_key=f"privcancel-{buyer.pk}-{product.pk}-{Order.objects.count()}",
        pin=PIN,
    )


def key(order) -> str:
    return f"catalog.order:{order.pk}:effect"


def stock(product) -> int:
    return Product.objects.get(pk=product.pk).stock


@contextmanager
def nothing_more(check):
    """``nothing_written`` plus the rows a cancel of a privilege could change."""

    def state():
        return (
            list(OrderEffect.objects.order_by("pk").values_list("pk", "applied_at", "reversed_at")),
            list(Order.objects.order_by("pk").values_list("pk", "status")),
            CashRefund.objects.count(),
            TierGrant.objects.count(),
        )

    before = state()
    with check():
        yield
    assert state() == before


# --- Cancelling by the member ----------------------------------------------------------------


def test_redeeming_a_card_completes_the_order_and_applies_it_once(buyer, card, cards):
    order = redeem(buyer, card, quantity=2)

    assert order.status == OrderStatus.COMPLETED
    assert cards.applied == [(buyer.pk, 2, key(order))]
    assert cards.reversed == []
    effect = OrderEffect.objects.get(order=order)
    assert (effect.applied_at, effect.reversed_at, effect.reference) == (T0, None, f"cards:{key(order)}")
    assert (balance(buyer), stock(card)) == (1400, 8)


def test_the_member_cancels_an_unused_card_and_gets_everything_back(buyer, card, cards, refunds, clock):
    order = redeem(buyer, card, quantity=2)
    clock.move_to(LATER)

    cancelled = services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)

    assert cancelled.status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert cards.reversed == [(buyer.pk, key(order))]
    assert cards.applied == [(buyer.pk, 2, key(order))]  # not applied again
    assert OrderEffect.objects.get(order=order).reversed_at == LATER
    assert (balance(buyer), stock(card)) == (2000, 10)
    refund = Entry.objects.get(idempotency_key=f"catalog.order:{order.pk}:refund")
    assert (refund.amount, refund.reference) == (600, f"catalog.order:{order.pk}")
    assert refunds == [(buyer.pk, f"catalog.order:{order.pk}", True)]
    event = OrderEvent.objects.filter(order=order).latest("pk")
    assert (event.from_status, event.to_status, event.actor_id, event.created_at) == (
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        buyer.pk,
        LATER,
    )
    assert event.note == notices.privilege_taken_back_note()
    assert notices.note_text(event.note) == "Cancelled before use: the privilege was taken back"


def test_a_used_card_is_not_cancelled_and_nothing_changes(buyer, card, cards, nothing_written):
    order = redeem(buyer, card)
    cards.unused = False
    message = r"^This privilege has already been used, so the order can't be cancelled\.$"

    with nothing_more(nothing_written), pytest.raises(PrivilegeInUseError, match=message):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)

    assert cards.reversed == [(buyer.pk, key(order))]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED
    assert OrderEffect.objects.get(order=order).reversed_at is None
    assert balance(buyer) == 1700


def test_cancelling_twice_takes_it_back_once(buyer, card, cards, nothing_written):
    order = redeem(buyer, card)
    services.order_cancel(order_id=order.pk, member_id=buyer.pk)

    with nothing_more(nothing_written), pytest.raises(InvalidTransitionError, match=r"\(Cancelled\)"):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk)

    assert cards.reversed == [(buyer.pk, key(order))]
    assert balance(buyer) == 2000
    assert Entry.objects.filter(idempotency_key=f"catalog.order:{order.pk}:refund").count() == 1


def test_the_effect_taken_back_is_not_asked_again(buyer, card, cards):
    order = redeem(buyer, card)
    services.order_cancel(order_id=order.pk, member_id=buyer.pk)

    again = privileges.order_effect_reverse(order=Order.objects.get(pk=order.pk))

    assert again.reversed_at == T0
    assert cards.reversed == [(buyer.pk, key(order))]


def test_someone_elses_card_is_not_found(buyer, make_buyer, card, cards, nothing_written):
    order = redeem(buyer, card)
    stranger = make_buyer(0)

    with nothing_more(nothing_written), pytest.raises(OrderNotFoundError):
        services.order_cancel(order_id=order.pk, member_id=stranger.pk)
    assert cards.reversed == []


# --- What stays uncancellable ----------------------------------------------------------------


def test_a_completed_tier_trial_has_no_reverser_and_stays_completed(buyer, make_product, nothing_written):
    trial = make_product(name_en="Silver trial", kind=ProductKind.PRIVILEGE, points_price=100)
    order = redeem(buyer, trial)
    assert order.status == OrderStatus.COMPLETED

    with (
        nothing_more(nothing_written),
        pytest.raises(InvalidTransitionError, match=r"can't be cancelled in its current state \(Completed\)"),
    ):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk)
    assert selectors.order_detail(member_id=buyer.pk, order_id=order.pk).can_cancel is False
    assert selectors.unused_privilege_order_ids(order_ids=[order.pk]) == set()


@pytest.mark.parametrize("kind", [ProductKind.VIRTUAL, ProductKind.COUPON])
def test_a_completed_code_or_coupon_still_cant_be_cancelled(buyer, make_product, make_codes, nothing_written, kind):
    product = make_product(kind=kind, points_price=100, stock=0)
    make_codes(product, 2)
    order = redeem(buyer, product)
    assert order.status == OrderStatus.COMPLETED

    with nothing_more(nothing_written), pytest.raises(InvalidTransitionError, match=r"\(Completed\)"):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk)
    with nothing_more(nothing_written), pytest.raises(InvalidTransitionError):
        services.order_cancel(order_id=order.pk, actor_id=None)  # the operator's path too


def test_a_card_whose_effect_has_no_reverser_any_more_stays_completed(buyer, card, cards, nothing_written):
    order = redeem(buyer, card)
    privileges._REVERSERS.pop(PrivilegeEffect.MAKEUP_CARD)  # the fixture restores the registry

    with nothing_more(nothing_written), pytest.raises(InvalidTransitionError, match=r"\(Completed\)"):
        services.order_cancel(order_id=order.pk, member_id=buyer.pk)
    assert cards.reversed == []


def test_a_card_cancelled_before_completion_never_asks_the_reverser(buyer, card, cards, operator):
    Product.objects.filter(pk=card.pk).update(requires_review=True)
    order = redeem(buyer, card)
    assert order.status == OrderStatus.PENDING_REVIEW

    services.order_cancel(order_id=order.pk, member_id=buyer.pk)

    assert (cards.applied, cards.reversed) == ([], [])
    effect = OrderEffect.objects.get(order=order)
    assert (effect.applied_at, effect.reversed_at) == (None, None)
    assert balance(buyer) == 2000


# --- The operator ------------------------------------------------------------------------------


def test_an_operator_cancels_an_unused_card_with_a_reason(buyer, card, cards, operator):
    order = redeem(buyer, card)

    services.order_cancel(order_id=order.pk, actor_id=operator.pk, reason="Bought by mistake")

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert cards.reversed == [(buyer.pk, key(order))]
    event = OrderEvent.objects.filter(order=order).latest("pk")
    assert (event.from_status, event.to_status, event.actor_id, event.note) == (
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        operator.pk,
        "Bought by mistake",
    )
    assert (balance(buyer), stock(card)) == (2000, 10)


def test_a_paid_card_cancelled_unused_refunds_its_cash(buyer, make_product, cards, operator, settings):
    settings.CATALOG_PAYMENT_BACKEND = "offline"
    product = make_product(
        kind=ProductKind.PRIVILEGE, effect="makeup_card", points_price=100, cash_price=Decimal("5.00")
    )
    order = redeem(buyer, product)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    services.order_mark_paid(order_id=order.pk, payment_reference="offline:1", actor_id=operator.pk)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED

    services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)

    refund = CashRefund.objects.get(order=order)
    assert (refund.amount, refund.status) == (Decimal("5.00"), RefundStatus.DUE)
    assert balance(buyer) == 2000


def test_the_admin_offers_the_cancel_on_an_unused_card_and_cancels_it(buyer, card, cards, admin_client):
    order = redeem(buyer, card)
    trial = redeem(buyer, Product.objects.create(**_trial_fields(card)))

    page = html.unescape(admin_client.get(f"{ORDERS_URL}{order.pk}/change/").content.decode())
    assert 'data-testid="admin-cancel-unused"' in page
    assert "Cancel and refund (only while unused)" in page
    trial_page = admin_client.get(f"{ORDERS_URL}{trial.pk}/change/").content.decode()
    assert 'data-testid="admin-cancel-unused"' not in trial_page
    assert cards.reversed == []  # showing the page asks no reverser

    selected = {"action": "cancel_unused_privileges", "_selected_action": [order.pk, trial.pk]}
    confirm = admin_client.post(ORDERS_URL, selected)
    assert confirm.status_code == 200
    assert [o.pk for o in confirm.context["orders"]] == [order.pk]
    assert confirm.context["others"] == [trial.pk]

    response = admin_client.post(
        ORDERS_URL, {**selected, "_selected_action": [order.pk], "apply": "1", "reason": "Asked by phone"}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "1 order cancelled; its privilege was taken back and the points refunded."
    ]
    assert dict(Order.objects.values_list("pk", "status")) == {
        order.pk: OrderStatus.CANCELLED,
        trial.pk: OrderStatus.COMPLETED,
    }
    assert OrderEvent.objects.filter(order=order).latest("pk").note == "Asked by phone"
    assert balance(buyer) == 1900  # the card's 300 back; the trial's 100 spent
    after = html.unescape(admin_client.get(f"{ORDERS_URL}{order.pk}/change/").content.decode())
    assert 'data-testid="admin-cancel-unused"' not in after
    assert "taken back" in after


def test_the_admin_action_refuses_a_selection_without_an_unused_privilege(buyer, make_product, admin_client):
    order = redeem(buyer, make_product(kind=ProductKind.PRIVILEGE, points_price=100))  # a tier trial

    response = admin_client.post(
        ORDERS_URL, {"action": "cancel_unused_privileges", "_selected_action": [order.pk]}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "None of the selected orders can be cancelled here: only completed privileges whose effect can be taken "
        "back while unused."
    ]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED


def _trial_fields(card) -> dict:
    return {
        "name_zh": "银卡体验",
        "name_en": "Silver trial",
        "category": card.category,
        "kind": ProductKind.PRIVILEGE,
        "points_price": 100,
        "stock": 10,
        "per_order_limit": 5,
        "effect": PrivilegeEffect.TIER_TRIAL,
        "effect_tier": "silver",
        "effect_days": 7,
    }


# --- The member's order page -------------------------------------------------------------------


@pytest.fixture
def member_client(client, buyer):
    client.force_login(buyer)
    return client


def _page(client, order) -> str:
    return html.unescape(client.get(reverse("order_detail", args=[order.pk])).content.decode())


def test_the_order_page_offers_to_cancel_an_unused_card_without_asking_the_reverser(buyer, card, cards, member_client):
    order = redeem(buyer, card)

    page = _page(member_client, order)

    assert 'data-testid="cancel-unused-privilege"' in page
    assert "Cancel and refund (only while unused)" in page
    assert "This works only while you haven't used it." in page
    assert f'action="{reverse("order_cancel", args=[order.pk])}"' in page
    assert 'data-testid="cancel-order"' not in page
    assert cards.reversed == []


def test_cancelling_an_unused_card_from_the_order_page(buyer, card, cards, member_client):
    order = redeem(buyer, card)

    response = member_client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Order cancelled. 300 points are back in your account."]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    page = _page(member_client, order)
    assert 'data-testid="cancel-unused-privilege"' not in page
    assert "Cancelled before use: the privilege was taken back" in page


def test_a_used_card_cancelled_from_the_order_page_says_why(buyer, card, cards, member_client):
    order = redeem(buyer, card)
    cards.unused = False

    response = member_client.post(reverse("order_cancel", args=[order.pk]), CONFIRMED, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "This privilege has already been used, so the order can't be cancelled."
    ]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED
    assert balance(buyer) == 1700


def test_the_order_page_hides_the_cancel_of_a_tier_trial_and_of_a_card_without_a_reverser(
    buyer, card, cards, make_product, member_client
):
    trial = redeem(buyer, make_product(kind=ProductKind.PRIVILEGE, points_price=100))
    order = redeem(buyer, card)
    privileges._REVERSERS.pop(PrivilegeEffect.MAKEUP_CARD)

    for shown in (trial, order):
        page = _page(member_client, shown)
        assert 'data-testid="cancel-unused-privilege"' not in page
        assert 'data-testid="cancel-order"' not in page


def test_the_ledger_balances_after_cards_are_bought_cancelled_and_refused(buyer, card, cards):
    kept = redeem(buyer, card)
    cancelled = redeem(buyer, card)
    services.order_cancel(order_id=cancelled.pk, member_id=buyer.pk)
    cards.unused = False
    with pytest.raises(PrivilegeInUseError):
        services.order_cancel(order_id=kept.pk, member_id=buyer.pk)

    assert points_services.points_verify().ok
    assert balance(buyer) == 1700


# --- At the same time ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_member_and_an_operator_cancelling_at_once_take_it_back_once(buyer, card, cards, operator):
    order = redeem(buyer, card)
    calls = [
        lambda: services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk),
        lambda: services.order_cancel(order_id=order.pk, actor_id=operator.pk),
    ] * 2

    results = run_together(calls)

    assert outcome_counts(results) == {"Order": 1, "InvalidTransitionError": 3}
    assert cards.reversed == [(buyer.pk, key(order))]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert (balance(buyer), stock(card)) == (2000, 10)
    assert Entry.objects.filter(idempotency_key=f"catalog.order:{order.pk}:refund").count() == 1
