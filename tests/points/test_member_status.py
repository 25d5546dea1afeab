"""``member_status``: the header's and the prices' one ledger read gives member_tier's and
spendable_balance's answers, whatever tier the member enjoys and however it is reached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from points import selectors, services
from points.models import Account, Tier
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _both(user_id: int):
    return selectors.member_tier(user_id=user_id), selectors.spendable_balance(user_id=user_id)


def _earn(user, amount: int, key: str, **kwargs) -> None:
    services.points_earn(user_id=user.pk, amount=amount, idempotency_key=key, **kwargs)


def test_a_new_member_on_the_entry_tier_in_one_query(member):
    _earn(member, 120, "status-1")
    with CaptureQueriesContext(connection) as captured:
        status = selectors.member_status(user_id=member.pk)

    assert len(captured.captured_queries) == 1
    tier, balance = _both(member.pk)
    assert (status.tier, status.balance) == (tier, balance) == (tier, 120)
    assert status.tier.code == Tier.objects.order_by("rank").first().code


def test_an_earned_tier_and_a_higher_trial_then_a_lower_trial(member):
    _earn(member, 5_000, "status-2")
    services.points_tiers_recalculate()
    earned = selectors.member_tier(user_id=member.pk)
    assert earned.code == "gold"
    assert selectors.member_status(user_id=member.pk).tier == earned

    services.tier_trial_grant(user_id=member.pk, tier_code="diamond", days=7, idempotency_key="status-trial-up")
    status = selectors.member_status(user_id=member.pk)
    assert status.tier == selectors.member_tier(user_id=member.pk)
    assert status.tier.code == "diamond"


def test_a_lower_trial_never_lowers_the_member(member):
    _earn(member, 5_000, "status-3")
    services.points_tiers_recalculate()
    services.tier_trial_grant(user_id=member.pk, tier_code="silver", days=7, idempotency_key="status-trial-down")

    assert selectors.member_status(user_id=member.pk).tier.code == "gold"


def test_overdue_points_are_not_spendable_and_the_clock_is_the_callers(member):
    now = timezone.now()
    _earn(member, 300, "status-4", expires_at=now + timedelta(days=10))
    _earn(member, 50, "status-5")

    assert selectors.member_status(user_id=member.pk).balance == selectors.spendable_balance(user_id=member.pk) == 350
    assert selectors.member_status(user_id=member.pk, now=now + timedelta(days=11)).balance == 50


def test_none_without_an_account():
    user = MemberFactory()
    Account.objects.filter(user_id=user.pk).delete()

    assert selectors.member_status(user_id=user.pk) is None
