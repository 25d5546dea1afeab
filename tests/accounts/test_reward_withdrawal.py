"""Rewards do not outlive their cause (issue #8, item 5).

An invited friend's first order earns the inviter a reward; when that order is undone — the
friend cancels, an operator rejects, the cash part is not paid in time, the host shop
refunds the purchase — the reward is withdrawn by ``accounts``, which gave it, listening to
the ledger's ``points_refunded`` / ``purchase_refunded``. Review points go with a review an
operator removes. Every test ends with the ledger's invariants.
"""

from __future__ import annotations

import pkgutil
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.dispatch import receiver

from accounts import selectors, services
from accounts.models import Notification, Referral
from catalog import migrations as catalog_migrations
from catalog import services as catalog_services
from catalog.enums import OrderStatus, ProductKind
from catalog.exceptions import ReviewNotFoundError
from catalog.models import Order, Review
from points import selectors as points_selectors
from points import services as points_services
from points.signals import points_refunded
from tests.catalog.factories import PIN, add_address, delivered_order, make_product
from tests.factories import MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)
WINDOW = timedelta(days=7)  # the purchase policy's returns window: first-order rewards vest after it


@pytest.fixture(autouse=True)
def _ledger_invariants_hold(db):
    yield
    assert points_services.points_verify().ok


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def inviter(db):
    return MemberFactory(email="inviter@example.com")


@pytest.fixture
def friend(inviter, clock):
    """Invited by ``inviter``, e-mail confirmed (the inviter has the 50-point sign-up reward),
    with a payment PIN and 1,000 points of their own (on the entry tier: no multipliers)."""
    friend = MemberFactory(email="friend@example.com")
    services.referral_bind(invitee_id=friend.pk, code=selectors.invite_code_of(user_id=inviter.pk))
    services.referral_confirm(invitee_id=friend.pk, email=friend.email)
    services.pin_set(user_id=friend.pk, pin=PIN)
    fund(friend, 1000)
    return friend


@pytest.fixture
def operator(db):
    return StaffFactory()


def fund(user, amount: int) -> None:
    """An operator's adjustment: spendable points that do not lift the member's tier (so no multipliers)."""
    points_services.points_adjust(
        user_id=user.pk,
        amount=amount,
        reason="test funds",
        actor_id=StaffFactory().pk,
        idempotency_key=f"fund:{user.pk}:{amount}",
    )


def points(user) -> tuple[int, int, int]:
    """(available, pending, owed) points of a member."""
    summary = points_selectors.balance_summary(user_id=user.pk)
    return summary.available, summary.pending, summary.owed


def referral_of(invitee) -> Referral:
    return Referral.objects.get(invitee=invitee)


def last_notice(user) -> tuple[str, str]:
    latest = Notification.objects.filter(user=user).order_by("-pk").first()
    return (latest.text().title, latest.text().body) if latest else None


def redeem(member, *, cash: str = "0", kind: str = ProductKind.PHYSICAL, key: str = "first") -> Order:
    product = make_product(kind=kind, points_price=200, cash_price=Decimal(cash))
    address_id = add_address(member) if kind == ProductKind.PHYSICAL else None
    return catalog_services.order_redeem(
        user_id=member.pk,
        product_id=product.pk,
        quantity=1,
        idempotency_key=key,
        pin=PIN,
        address_id=address_id,
    )


def assert_first_order_reward_pending(inviter, friend, order) -> None:
    referral = referral_of(friend)
    assert (referral.first_order_reference, referral.first_order_points) == (f"catalog.order:{order.pk}", 30)
    assert referral.first_order_available_at == T0 + WINDOW
    assert points(inviter) == (50, 30, 0)


WITHDRAWN_PENDING = (
    "The first-order reward for fr***@example.com was cancelled",
    "Your friend's first order was cancelled or refunded, so its 30 pending points will not be added.",
)
WITHDRAWN_AVAILABLE = (
    "The first-order reward for fr***@example.com was cancelled",
    "Your friend's first order was cancelled or refunded, so the 30 points it earned you were taken back.",
)


# --- each cause of an undone first redemption ------------------------------------------------------


def test_the_friend_cancelling_their_first_redemption_withdraws_the_pending_reward(inviter, friend, clock):
    order = redeem(friend)
    assert_first_order_reward_pending(inviter, friend, order)
    clock.move_to(T0 + timedelta(days=1))

    catalog_services.order_cancel(order_id=order.pk, member_id=friend.pk, actor_id=friend.pk)

    assert points(inviter) == (50, 0, 0)
    assert points(friend) == (1000, 0, 0)
    assert referral_of(friend).first_order_withdrawn_at == T0 + timedelta(days=1)
    assert last_notice(inviter) == WITHDRAWN_PENDING
    # It never vests.
    clock.move_to(T0 + WINDOW + timedelta(days=1))
    points_services.points_vest()
    assert points(inviter) == (50, 0, 0)
    summary = selectors.invite_summary(user_id=inviter.pk)
    assert (summary.earned, summary.pending, summary.friends.object_list[0].first_order_cancelled) == (50, 0, True)


def test_an_operator_rejecting_the_first_redemption_withdraws_the_reward(inviter, friend, operator, clock):
    order = redeem(friend)
    assert_first_order_reward_pending(inviter, friend, order)

    catalog_services.order_reject(order_id=order.pk, actor_id=operator.pk, reason="Out of stock at the warehouse")

    assert points(inviter) == (50, 0, 0)
    assert referral_of(friend).first_order_withdrawn_at == T0
    assert last_notice(inviter) == WITHDRAWN_PENDING


def test_a_first_redemption_cancelled_for_an_unpaid_cash_part_withdraws_the_reward(inviter, friend, clock):
    order = redeem(friend, cash="9.90", kind=ProductKind.PRIVILEGE)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert_first_order_reward_pending(inviter, friend, order)
    clock.move_to(order.pay_by + timedelta(seconds=1))

    assert catalog_services.orders_cancel_unpaid() == 1

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert points(inviter) == (50, 0, 0)
    assert referral_of(friend).first_order_withdrawn_at == order.pay_by + timedelta(seconds=1)


def test_a_first_redemption_undone_after_the_reward_vested_takes_it_back(inviter, friend, clock):
    order = redeem(friend)  # a parcel that waits for stock: approved, not shipped
    clock.move_to(T0 + WINDOW + timedelta(hours=1))
    points_services.points_vest()
    assert points(inviter) == (80, 0, 0)

    catalog_services.order_cancel(order_id=order.pk, member_id=friend.pk, actor_id=friend.pk)

    assert points(inviter) == (50, 0, 0)
    assert last_notice(inviter) == WITHDRAWN_AVAILABLE
    summary = selectors.invite_summary(user_id=inviter.pk)
    assert (summary.earned, summary.pending) == (50, 0)


def test_a_vested_reward_the_inviter_already_spent_becomes_debt(inviter, friend, clock):
    order = redeem(friend)
    clock.move_to(T0 + WINDOW + timedelta(hours=1))
    points_services.points_vest()
    points_services.points_spend(user_id=inviter.pk, amount=80, idempotency_key="inviter-spends-all")

    catalog_services.order_cancel(order_id=order.pk, member_id=friend.pk, actor_id=friend.pk)

    # docs/decisions/0006: never a negative balance, never a skipped claw-back; the next points repay it.
    assert points(inviter) == (0, 0, 30)
    points_services.points_earn(user_id=inviter.pk, amount=40, idempotency_key="inviter-earns")
    assert points(inviter) == (10, 0, 0)


def test_cancelling_a_later_order_leaves_the_first_orders_reward(inviter, friend, clock):
    redeem(friend, key="first")
    second = redeem(friend, key="second")

    catalog_services.order_cancel(order_id=second.pk, member_id=friend.pk, actor_id=friend.pk)

    assert points(inviter) == (50, 30, 0)
    assert referral_of(friend).first_order_withdrawn_at is None


def test_a_withdrawn_first_order_is_not_replaced_by_the_next_one(inviter, friend, clock):
    first = redeem(friend, key="first")
    catalog_services.order_cancel(order_id=first.pk, member_id=friend.pk, actor_id=friend.pk)

    redeem(friend, key="again")

    assert points(inviter) == (50, 0, 0)
    assert referral_of(friend).first_order_reference == f"catalog.order:{first.pk}"


def test_a_first_order_undone_before_the_referral_paid_anything_is_never_paid(inviter, clock):
    friend = MemberFactory(email="friend@example.com")
    services.referral_bind(invitee_id=friend.pk, code=selectors.invite_code_of(user_id=inviter.pk))
    services.pin_set(user_id=friend.pk, pin=PIN)
    fund(friend, 1000)
    order = redeem(friend)
    catalog_services.order_cancel(order_id=order.pk, member_id=friend.pk, actor_id=friend.pk)

    services.referral_confirm(invitee_id=friend.pk, email=friend.email)  # e-mail confirmed afterwards

    assert points(inviter) == (50, 0, 0)
    assert referral_of(friend).first_order_points == 0


# --- the ledger's event ------------------------------------------------------------------------------


@pytest.fixture
def refunds_announced():
    heard: list[dict] = []

    @receiver(points_refunded, dispatch_uid="test.refunds_announced")
    def listen(sender, **kwargs):
        heard.append({k: v for k, v in kwargs.items() if k != "signal"})

    yield heard
    points_refunded.disconnect(dispatch_uid="test.refunds_announced")


def test_the_ledger_announces_each_refund_once_and_whether_it_was_full(inviter, friend, refunds_announced, clock):
    spend = points_services.points_spend(
        user_id=friend.pk, amount=100, idempotency_key="s", reference="catalog.order:999"
    )

    part = points_services.points_refund(
        user_id=friend.pk, spend_entry_id=spend.entry_id, amount=40, idempotency_key="r1"
    )
    points_services.points_refund(user_id=friend.pk, spend_entry_id=spend.entry_id, amount=40, idempotency_key="r1")
    assert points(inviter) == (50, 30, 0)  # a partial refund leaves the first order standing
    rest = points_services.points_refund(user_id=friend.pk, spend_entry_id=spend.entry_id, idempotency_key="r2")

    assert refunds_announced == [
        {
            "user_id": friend.pk,
            "spend_entry_id": spend.entry_id,
            "refund_entry_id": part.entry_id,
            "amount": 40,
            "reference": "catalog.order:999",
            "full": False,
        },
        {
            "user_id": friend.pk,
            "spend_entry_id": spend.entry_id,
            "refund_entry_id": rest.entry_id,
            "amount": 60,
            "reference": "catalog.order:999",
            "full": True,
        },
    ]
    assert points(inviter) == (50, 0, 0)


def test_a_refund_that_fails_leaves_the_reward(inviter, friend, clock, monkeypatch):
    """The withdrawal runs inside the refund's transaction: a refund rolled back withdraws nothing."""
    order = redeem(friend)

    def fail(**kwargs):
        raise RuntimeError("stock service down")

    monkeypatch.setattr("catalog.flash_gate.stock_returned", fail)
    with pytest.raises(RuntimeError):
        catalog_services.order_cancel(order_id=order.pk, member_id=friend.pk, actor_id=friend.pk)

    assert points(inviter) == (50, 30, 0)
    assert referral_of(friend).first_order_withdrawn_at is None
    assert Order.objects.get(pk=order.pk).status == OrderStatus.APPROVED


# --- the host shop's purchases ---------------------------------------------------------------------


def test_a_first_purchase_refunded_in_full_withdraws_the_reward_and_the_friends_bonus(inviter, friend, clock):
    points_services.purchase_record(user_id=friend.pk, external_id="SHOP-1", amount=Decimal("60.00"))
    assert points(inviter) == (50, 30, 0)
    assert points(friend) == (1000, 60 + 50, 0)  # purchase points and the first-purchase bonus, pending

    points_services.purchase_refund(external_id="SHOP-1", amount=Decimal("20.00"), idempotency_key="part")
    assert points(inviter) == (50, 30, 0)
    points_services.purchase_refund(external_id="SHOP-1", idempotency_key="rest")

    assert points(inviter) == (50, 0, 0)
    assert points(friend) == (1000, 0, 0)
    assert last_notice(inviter) == WITHDRAWN_PENDING


def test_a_first_purchase_refunded_after_its_window_takes_the_vested_reward_back(inviter, friend, clock):
    points_services.purchase_record(user_id=friend.pk, external_id="SHOP-2", amount=Decimal("60.00"))
    clock.move_to(T0 + WINDOW + timedelta(days=3))
    points_services.points_vest()
    assert points(inviter) == (80, 0, 0)

    points_services.purchase_refund(external_id="SHOP-2", idempotency_key="late")

    assert points(inviter) == (50, 0, 0)
    assert points(friend) == (1000, 0, 0)
    assert last_notice(inviter) == WITHDRAWN_AVAILABLE


# --- review points go with a review an operator removes ------------------------------------------


@pytest.fixture
def reviewer(clock):
    member = MemberFactory()
    services.pin_set(user_id=member.pk, pin=PIN)
    fund(member, 1000)
    return member


def test_removing_a_review_takes_its_points_back(reviewer, operator):
    order = delivered_order(reviewer, make_product(points_price=100))
    result = catalog_services.review_post(order_id=order.pk, member_id=reviewer.pk, rating=1, text="spam spam spam")
    assert points(reviewer) == (905, 0, 0)
    assert Review.objects.get().points_entry_id is not None

    taken = catalog_services.review_remove(review_id=result.review_id, actor_id=operator.pk)

    assert taken == 5
    assert points(reviewer) == (900, 0, 0)
    assert Review.objects.count() == 0
    with pytest.raises(ReviewNotFoundError):
        catalog_services.review_remove(review_id=result.review_id, actor_id=operator.pk)
    # A new review of the same order is welcome, for no points: they are paid once per order.
    again = catalog_services.review_post(order_id=order.pk, member_id=reviewer.pk, rating=4, text="Fair enough.")
    assert (again.points, again.message) == (0, "This order's review points were paid before.")
    assert points(reviewer) == (900, 0, 0)


def test_removing_a_review_whose_points_were_spent_leaves_debt(reviewer, operator):
    order = delivered_order(reviewer, make_product(points_price=100))
    result = catalog_services.review_post(order_id=order.pk, member_id=reviewer.pk, rating=1, text="spam")
    points_services.points_spend(user_id=reviewer.pk, amount=905, idempotency_key="spend-all")

    assert catalog_services.review_remove(review_id=result.review_id, actor_id=operator.pk) == 5

    assert points(reviewer) == (0, 0, 5)


def test_removing_a_review_that_earned_nothing_takes_nothing(reviewer, operator, settings):
    from points.models import EarningRule

    EarningRule.objects.filter(source="review").update(active=False)
    order = delivered_order(reviewer, make_product(points_price=100))
    result = catalog_services.review_post(order_id=order.pk, member_id=reviewer.pk, rating=1, text="spam")

    assert catalog_services.review_remove(review_id=result.review_id, actor_id=operator.pk) == 0
    assert points(reviewer) == (900, 0, 0)


def test_an_operator_deleting_a_review_in_admin_takes_its_points_back(reviewer, admin_client):
    order = delivered_order(reviewer, make_product(points_price=100))
    result = catalog_services.review_post(order_id=order.pk, member_id=reviewer.pk, rating=1, text="spam")

    response = admin_client.post(f"/admin/catalog/review/{result.review_id}/delete/", {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert "Review points taken back: 5." in response.content.decode()
    assert Review.objects.count() == 0
    assert points(reviewer) == (900, 0, 0)


def test_existing_reviews_are_linked_to_their_points_by_the_migration(reviewer):
    # Found by its name's end: the number may change when migrations are renumbered.
    [name] = [
        m.name for m in pkgutil.iter_modules(catalog_migrations.__path__) if m.name.endswith("_review_points_entry")
    ]
    migration = import_module(f"catalog.migrations.{name}")
    order = delivered_order(reviewer, make_product(points_price=100))
    catalog_services.review_post(order_id=order.pk, member_id=reviewer.pk, rating=5, text="Good")
    entry_id = Review.objects.get().points_entry_id
    Review.objects.update(points_entry_id=None)

    migration.link_review_points(django_apps, None)
    migration.link_review_points(django_apps, None)

    assert Review.objects.get().points_entry_id == entry_id
