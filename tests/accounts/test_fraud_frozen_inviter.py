"""A referral reward that falls due while the inviter's account is frozen is kept and paid once at the
unfreeze; a deleted inviter forfeits it (docs/decisions/0055, 0056)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts import selectors, services
from accounts.enums import NoRewardReason, ReferralStatus
from accounts.models import Referral
from points import selectors as points_selectors
from points import services as points_services
from points.models import Entry
from pointsmall.privacy import services as privacy_services
from tests.factories import PASSWORD, MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def inviter(db):
    return MemberFactory(email="inviter@example.com")


@pytest.fixture
def operator(db):
    return StaffFactory()


def balance(user) -> tuple[int, int]:
    summary = points_selectors.balance_summary(user_id=user.pk)
    return summary.available, summary.pending


def referral_entries(inviter) -> int:
    return Entry.objects.filter(account__user=inviter, reference__startswith="referral:").count()


def invite_and_confirm(inviter) -> Referral:
    friend = MemberFactory()
    code = selectors.invite_code_of(user_id=inviter.pk)
    services.referral_bind(invitee_id=friend.pk, code=code, signup_ip="198.51.100.9")
    services.referral_confirm(invitee_id=friend.pk, email=friend.email)
    return Referral.objects.get(invitee=friend)


def test_freeze_then_vesting_then_unfreeze_pays_once(inviter, operator, clock):
    services.account_freeze(user_id=inviter.pk, actor_id=operator.pk, reason="Checking invitations")
    referral = invite_and_confirm(inviter)
    assert (balance(inviter), referral_entries(inviter)) == ((0, 0), 0)
    assert Referral.objects.get(pk=referral.pk).rewarded_at is None  # kept, not refused

    clock.move_to(T0 + timedelta(days=2))  # the vesting time passes: nothing is paid while frozen
    points_services.points_vest()
    assert services.referral_rewards_pay_due(inviter_id=inviter.pk) == 0
    assert (balance(inviter), referral_entries(inviter)) == ((0, 0), 0)

    services.account_unfreeze(user_id=inviter.pk, actor_id=operator.pk, reason="All in order")
    assert balance(inviter) == (50, 0)  # the hour of checks is long over: available at once
    referral.refresh_from_db()
    assert (referral.status, referral.signup_points, referral.no_reward_reason) == (ReferralStatus.APPROVED, 50, "")

    # Run again (the next unfreeze, a retried task): not paid twice.
    assert services.referral_rewards_pay_due(inviter_id=inviter.pk) == 0
    points_services.points_vest()
    assert (balance(inviter), referral_entries(inviter)) == ((50, 0), 1)
    assert points_services.points_verify().ok


def test_a_first_order_that_falls_due_while_frozen_is_paid_at_the_unfreeze(inviter, operator, clock):
    referral = invite_and_confirm(inviter)
    services.account_freeze(user_id=inviter.pk, actor_id=operator.pk, reason="Checking invitations")
    services.referral_first_order_record(
        invitee_id=referral.invitee_id, reference="shop.order:A1", available_at=T0 + timedelta(days=7)
    )
    assert Referral.objects.get(pk=referral.pk).first_order_rewarded_at is None
    clock.move_to(T0 + timedelta(days=1))
    services.account_unfreeze(user_id=inviter.pk, actor_id=operator.pk, reason="All in order")
    referral.refresh_from_db()
    assert referral.first_order_rewarded_at is not None
    assert referral.first_order_points > 0
    # Pending until the friend's returns window ends, as if paid on time.
    assert balance(inviter) == (50, referral.first_order_points)
    assert services.referral_rewards_pay_due(inviter_id=inviter.pk) == 0
    assert points_services.points_verify().ok


def test_a_deleted_inviter_forfeits_the_kept_reward(inviter, operator, clock):
    services.account_freeze(user_id=inviter.pk, actor_id=operator.pk, reason="Checking invitations")
    referral = invite_and_confirm(inviter)
    privacy_services.member_delete(user_id=inviter.pk, password=PASSWORD, confirmation=inviter.email)
    assert services.referral_rewards_pay_due(inviter_id=inviter.pk) == 0
    referral.refresh_from_db()
    assert (referral.no_reward_reason, referral.rewarded_at) == (NoRewardReason.INVITER_DELETED, None)
    assert referral_entries(inviter) == 0
    assert points_services.points_verify().ok


def test_an_inviter_never_frozen_is_paid_as_before(inviter, clock):
    invite_and_confirm(inviter)
    assert balance(inviter) == (0, 50)
    assert services.referral_rewards_pay_due(inviter_id=inviter.pk) == 0
    assert referral_entries(inviter) == 1
