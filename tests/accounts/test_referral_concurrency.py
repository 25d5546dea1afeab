"""Referrals under real concurrency (Postgres): the monthly cap, double events, binding races, lock order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts import selectors, services
from accounts.enums import NoRewardReason, ReferralStatus
from accounts.models import Notification, Referral
from points import selectors as points_selectors
from points import services as points_services
from tests.concurrency import outcome_counts, run_together
from tests.factories import MemberFactory, StaffFactory

# The earning rules and tiers these tests need are put back by tests/conftest.py for every transactional test.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 12, 10, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def bind(friend, inviter, ip: str | None = None) -> str:
    return services.referral_bind(invitee_id=friend.pk, code=selectors.invite_code_of(user_id=inviter.pk), signup_ip=ip)


def balance(user) -> tuple[int, int]:
    summary = points_selectors.balance_summary(user_id=user.pk)
    return summary.available, summary.pending


def test_friends_confirming_at_once_never_pass_the_monthly_cap(settings):
    settings.REFERRAL_MONTHLY_CAP = 3
    settings.REFERRAL_BURST_COUNT = (
        0  # eight friends of one inviter at once would be a burst (0056): not this test's rule
    )
    inviter = MemberFactory()
    friends = [MemberFactory() for _ in range(8)]
    for friend in friends:
        bind(friend, inviter)
    with time_machine.travel(T0, tick=False):
        results = run_together([lambda f=f: services.referral_confirm(invitee_id=f.pk, email=f.email) for f in friends])
    assert outcome_counts(results) == {"NoneType": 8}
    rows = Referral.objects.values_list("signup_points", "no_reward_reason")
    assert sorted(rows) == [(0, NoRewardReason.MONTHLY_CAP)] * 5 + [(50, "")] * 3
    assert balance(inviter) == (150, 0)
    assert points_services.points_verify().ok


def test_one_confirmation_delivered_many_times_at_once_pays_once():
    inviter, friend = MemberFactory(), MemberFactory()
    bind(friend, inviter)
    results = run_together([lambda: services.referral_confirm(invitee_id=friend.pk, email=friend.email)] * 6)
    assert outcome_counts(results) == {"NoneType": 6}
    assert balance(inviter) == (50, 0)
    assert Notification.objects.filter(user=inviter).count() == 1


def test_a_double_submitted_sign_up_binds_once():
    inviter, other, friend = MemberFactory(), MemberFactory(), MemberFactory()
    results = run_together([lambda: bind(friend, inviter), lambda: bind(friend, other)])
    assert outcome_counts(results) == {"ReferralStatus": 1, "ReferralAlreadyBoundError": 1}
    assert Referral.objects.filter(invitee=friend).count() == 1


def test_a_first_purchase_during_the_review_is_paid_once_without_deadlock(settings):
    """The purchase locks the friend's account, then the inviter's; approval locks the inviter's only."""
    settings.REFERRAL_IP_HOURLY_LIMIT = 1
    inviter, friend, reviewer = MemberFactory(), MemberFactory(), StaffFactory()
    assert bind(friend, inviter, ip="203.0.113.9") == ReferralStatus.HELD
    services.referral_confirm(invitee_id=friend.pk, email=friend.email)
    referral_id = Referral.objects.get(invitee=friend).pk
    with time_machine.travel(T0, tick=False):
        results = run_together(
            [
                lambda: points_services.purchase_record(
                    user_id=friend.pk, external_id="RACE-1", amount=Decimal("60.00")
                ),
                lambda: services.referral_approve(referral_id=referral_id, reviewer_id=reviewer.pk),
            ]
        )
    assert outcome_counts(results) == {"PurchaseResult": 1, "NoneType": 1}
    assert balance(inviter) == (50, 30)
    assert points_services.points_verify().ok
