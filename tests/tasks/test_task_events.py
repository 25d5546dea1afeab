"""Each event kind completes its task through the real emitting service (accounts, catalog,
check-in's signal), and undoing the cause (an order cancelled, a review removed) undoes it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine

from accounts import services as accounts_services
from accounts import sms
from catalog import services as catalog_services
from points import selectors as points_selectors
from points import services as points_services
from tasks import services
from tasks.enums import TaskEvent
from tasks.signals import checkin_recorded
from tests.accounts.images import image_bytes, upload
from tests.catalog.factories import delivered_order, make_member, make_product, redeem
from tests.factories import MemberFactory, StaffFactory
from tests.tasks.task_helpers import T0, make_task, state, task_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def member(db):
    return MemberFactory()


def claim(member, task) -> int:
    return services.task_claim(user_id=member.pk, task_id=task.pk).granted


def available_and_pending(member) -> tuple[int, int]:
    summary = points_selectors.balance_summary(user_id=member.pk)
    return summary.available, summary.pending


def test_setting_a_payment_pin_completes_its_task(member, clock):
    task = make_task(event=TaskEvent.PIN_SET)
    accounts_services.pin_set(user_id=member.pk, pin="258014")
    assert state(member, task) == ("completed", 1)
    assert claim(member, task) == 30


def test_adding_an_address_completes_its_task_once(member, clock):
    # An address task is one-off with target 1 (issue #10: a once-per-member event).
    task = make_task(event=TaskEvent.ADDRESS_ADDED)
    fields = {
        "recipient": "王小明",
        "phone": "13800138000",
        "province": "上海市",
        "city": "上海市",
        "detail": "世纪大道 1 号",
    }
    accounts_services.address_create(user_id=member.pk, **fields)
    assert state(member, task) == ("completed", 1)
    accounts_services.address_create(user_id=member.pk, **fields)
    assert state(member, task) == ("completed", 1)


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def test_completing_the_profile_completes_its_task_when_the_last_piece_arrives(
    member, clock, settings, tmp_path, sms_outbox, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    task = make_task(event=TaskEvent.PROFILE_COMPLETED)
    avatar = accounts_services.avatar_prepare(upload=upload(image_bytes()))
    accounts_services.profile_update(
        user_id=member.pk, display_name="小明", phone="13800138000", language="zh-hans", avatar=avatar
    )
    assert state(member, task) is None  # the phone is not verified yet
    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.phone_code_send(user_id=member.pk)
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].text).group(1)
    accounts_services.phone_code_confirm(user_id=member.pk, code=code)
    assert state(member, task) == ("completed", 1)
    # Saving the complete profile again is not a new completion.
    accounts_services.profile_update(user_id=member.pk, display_name="小明明", phone="13800138000", language="en")
    assert state(member, task) == ("completed", 1)
    assert claim(member, task) == 30


def test_a_friend_who_signs_up_counts_for_the_inviter(clock):
    inviter, friend = MemberFactory(), MemberFactory()
    task = make_task(event=TaskEvent.FRIEND_SIGNED_UP)
    code = accounts_services.invite_code_ensure(user_id=inviter.pk)
    accounts_services.referral_bind(invitee_id=friend.pk, code=code, signup_ip=None)
    accounts_services.referral_confirm(invitee_id=friend.pk, email=friend.email)
    assert state(inviter, task) == ("completed", 1)
    assert state(friend, task) is None
    accounts_services.referral_confirm(invitee_id=friend.pk, email=friend.email)  # again: nothing more
    assert claim(inviter, task) == 30


def test_a_checkin_streak_completes_a_streak_task(member, clock):
    task = make_task(event=TaskEvent.CHECKIN_STREAK, target=3)
    for n in (1, 2):
        checkin_recorded.send(sender=None, user_id=member.pk, day=date(2026, 12, 7 + n), streak=n, makeup=False)
    assert state(member, task) == ("in_progress", 2)
    checkin_recorded.send(sender=None, user_id=member.pk, day=date(2026, 12, 10), streak=3, makeup=False)
    checkin_recorded.send(sender=None, user_id=member.pk, day=date(2026, 12, 10), streak=3, makeup=False)
    assert state(member, task) == ("completed", 3)
    assert claim(member, task) == 30


def first_redemption_task():
    return make_task(title="首次兑换", title_en="First redemption", event=TaskEvent.FIRST_REDEMPTION, reward_points=40)


def test_a_first_redemption_completes_its_task_and_the_reward_vests_after_the_returns_window(clock):
    buyer = make_member(points=500)
    task = first_redemption_task()
    redeem(buyer, make_product(points_price=100))
    assert state(buyer, task) == ("completed", 1)
    assert claim(buyer, task) == 40
    assert available_and_pending(buyer) == (400, 40)
    clock.move_to(T0 + timedelta(days=7, seconds=1))
    points_services.points_vest()
    assert available_and_pending(buyer) == (440, 0)


def test_a_second_redemption_is_not_a_first_one(clock):
    buyer = make_member(points=500)
    product = make_product(points_price=100)
    redeem(buyer, product)
    task = first_redemption_task()  # created after the first redemption
    redeem(buyer, product)
    assert state(buyer, task) is None


def test_a_first_redemption_cancelled_before_the_claim_does_not_pay(clock):
    buyer = make_member(points=500)
    task = first_redemption_task()
    order = redeem(buyer, make_product(points_price=100))  # physical: waits for review
    catalog_services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk, reason="changed my mind")
    assert state(buyer, task) == ("in_progress", 0)
    with pytest.raises(Exception) as error:
        claim(buyer, task)
    assert error.value.code == "task_not_completed"
    assert task_entries(buyer) == []
    # A new order is the first one that stands: it completes the task, which pays once.
    redeem(buyer, make_product(points_price=100))
    assert state(buyer, task) == ("completed", 1)
    assert claim(buyer, task) == 40


def test_a_first_redemption_cancelled_after_the_claim_cancels_the_pending_reward(clock):
    buyer = make_member(points=500)
    task = first_redemption_task()
    order = redeem(buyer, make_product(points_price=100))
    claim(buyer, task)
    assert available_and_pending(buyer) == (400, 40)
    clock.move_to(T0 + timedelta(days=1))
    catalog_services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk, reason="changed my mind")
    assert available_and_pending(buyer) == (500, 0)
    assert task_entries(buyer) == [("earn", "task", 0, 40), ("reverse", "task", 0, -40)]
    assert state(buyer, task) == ("claimed", 0)
    clock.move_to(T0 + timedelta(days=8))
    points_services.points_vest()
    assert available_and_pending(buyer) == (500, 0)
    assert points_services.points_verify().ok


def test_an_operators_rejection_undoes_the_first_redemption_too(clock):
    buyer = make_member(points=500)
    task = first_redemption_task()
    order = redeem(buyer, make_product(points_price=100))
    catalog_services.order_reject(order_id=order.pk, actor_id=StaffFactory().pk, reason="out of stock")
    assert state(buyer, task) == ("in_progress", 0)


def test_a_review_completes_its_task_and_removing_it_takes_the_reward_back(clock, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    buyer = make_member(points=500)
    order = delivered_order(buyer, make_product(points_price=100))
    task = make_task(title="写评价", title_en="Write a review", event=TaskEvent.REVIEW_POSTED)
    review = catalog_services.review_post(order_id=order.pk, member_id=buyer.pk, rating=5, text="Great")
    assert state(buyer, task) == ("completed", 1)
    assert claim(buyer, task) == 30
    catalog_services.review_remove(review_id=review.review_id, actor_id=StaffFactory().pk)
    assert task_entries(buyer) == [("earn", "task", 30, 0), ("reverse", "task", -30, 0)]
    # Reviewing the order again never pays the task twice in its period.
    catalog_services.review_post(order_id=order.pk, member_id=buyer.pk, rating=4, text="Still good")
    assert state(buyer, task) == ("claimed", 0)
    assert len(task_entries(buyer)) == 2
