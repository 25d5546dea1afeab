"""Tier trials: a tier lent for N days that selectors, multipliers and campaigns respect, that
never lowers a member, ends by itself and leaves the earned tier alone (docs/decisions/0020)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.dispatch import receiver
from django.urls import reverse

from points import exceptions, selectors, services
from points.exceptions import IdempotencyConflictError
from points.models import Account, Campaign, Tier, TierGrant
from points.signals import tier_changed

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 10, 12, 0, tzinfo=SHANGHAI)
WEEK = timedelta(days=7)

pytestmark = pytest.mark.usefixtures("ledger_stays_consistent")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def lend(user, tier: str, days: int = 7, key: str | None = None):
    return services.tier_trial_grant(
        user_id=user.pk, tier_code=tier, days=days, idempotency_key=key or f"trial:{user.pk}:{tier}:{days}:{T0}"
    )


def windows(user) -> list[tuple[str, datetime, datetime]]:
    return list(
        TierGrant.objects.filter(account__user=user)
        .order_by("starts_at", "pk")
        .values_list("tier__code", "starts_at", "ends_at")
    )


def test_a_trial_lends_the_tier_from_now_for_the_days_given(member):
    before = Account.objects.values_list("tier__code", "tier_changed_at").get(user=member)
    result = lend(member, "gold")
    assert (result.tier, result.starts_at, result.ends_at, result.replayed) == ("gold", T0, T0 + WEEK, False)
    assert selectors.member_tier(user_id=member.pk).code == "gold"
    assert selectors.earned_tier(user_id=member.pk).code == "regular"
    # The earned tier is untouched: a trial neither upgrades nor restarts the tier's clock.
    assert Account.objects.values_list("tier__code", "tier_changed_at").get(user=member) == before
    assert before[0] == "regular"


def test_the_same_key_is_one_trial_and_another_use_of_it_is_a_conflict(member, other_member):
    first = lend(member, "gold", key="k")
    again = lend(member, "gold", key="k")
    assert (again.starts_at, again.ends_at, again.replayed) == (first.starts_at, first.ends_at, True)
    with pytest.raises(IdempotencyConflictError):
        lend(member, "silver", key="k")
    with pytest.raises(IdempotencyConflictError):
        lend(other_member, "gold", key="k")
    assert TierGrant.objects.count() == 1


@pytest.mark.parametrize(
    ("tier", "days", "error", "message"),
    [
        ("platinum", 7, exceptions.UnknownTierError, r"^There is no tier “platinum”\.$"),
        (
            "regular",
            7,
            exceptions.InvalidTierTrialError,
            r"^A tier trial needs a tier above the entry tier and 1 to 3660 days\.$",
        ),
        ("gold", 0, exceptions.InvalidTierTrialError, r"above the entry tier and 1 to 3660 days"),
        ("gold", 3661, exceptions.InvalidTierTrialError, r"1 to 3660 days"),
        ("gold", True, exceptions.InvalidTierTrialError, r"1 to 3660 days"),
        ("gold", 7.5, exceptions.InvalidTierTrialError, r"1 to 3660 days"),
    ],
)
def test_a_bad_trial_is_refused_and_writes_nothing(member, tier, days, error, message):
    with pytest.raises(error, match=message):
        services.tier_trial_grant(user_id=member.pk, tier_code=tier, days=days, idempotency_key="bad")
    assert not TierGrant.objects.exists()


def test_trials_of_the_same_or_a_higher_tier_queue_up_and_a_higher_one_starts_at_once(member):
    lend(member, "gold", key="g1")
    lend(member, "gold", key="g2")  # after the first Gold week
    lend(member, "silver", key="s1")  # after both Gold weeks: Gold covers it until then
    lend(member, "diamond", days=1, key="d1")  # higher: now
    assert windows(member) == [
        ("gold", T0, T0 + WEEK),
        ("diamond", T0, T0 + timedelta(days=1)),
        ("gold", T0 + WEEK, T0 + 2 * WEEK),
        ("silver", T0 + 2 * WEEK, T0 + 3 * WEEK),
    ]
    assert selectors.member_tier(user_id=member.pk).code == "diamond"


def test_the_trial_ends_by_itself_and_never_lowers_a_member(member, clock):
    lend(member, "silver")
    Account.objects.filter(user=member).update(tier=Tier.objects.get(code="gold"))  # earned Gold meanwhile
    assert selectors.member_tier(user_id=member.pk).code == "gold"
    assert selectors.header_status(user_id=member.pk) == (0, "Gold")
    Account.objects.filter(user=member).update(tier=Tier.objects.get(code="regular"))
    assert selectors.header_status(user_id=member.pk) == (0, "Silver")
    clock.move_to(T0 + WEEK)
    assert selectors.member_tier(user_id=member.pk).code == "regular"
    assert selectors.header_status(user_id=member.pk) == (0, "Regular")
    assert selectors.tier_trials(user_id=member.pk) == []


def test_points_earned_during_a_trial_use_its_multiplier(member, clock):
    assert services.points_award(user_id=member.pk, source="review", idempotency_key="r1").granted == 5
    lend(member, "diamond")
    assert services.points_award(user_id=member.pk, source="review", idempotency_key="r2").granted == 7  # 5 × 1.5
    clock.move_to(T0 + WEEK)
    assert services.points_award(user_id=member.pk, source="review", idempotency_key="r3").granted == 5


def test_a_campaign_for_a_tier_reaches_members_on_a_trial_of_it(member):
    campaign = Campaign.objects.create(
        name="Gold week", starts_at=T0 - WEEK, ends_at=T0 + WEEK, multiplier=Decimal("2"), sources=["review"]
    )
    campaign.tiers.add(Tier.objects.get(code="gold"))
    assert services.points_award(user_id=member.pk, source="review", idempotency_key="r1").granted == 5
    lend(member, "gold")
    assert services.points_award(user_id=member.pk, source="review", idempotency_key="r2").granted == 12  # 5 × 1.2 × 2


def test_trial_points_and_upgrades_follow_the_earned_tier_only(member, clock):
    events = []

    @receiver(tier_changed, weak=False)
    def record(sender, **kwargs):
        events.append((kwargs["old_tier"], kwargs["new_tier"]))

    try:
        lend(member, "gold")
        services.points_earn(user_id=member.pk, amount=1000, idempotency_key="e1")  # reaches Silver
        assert events == [("regular", "silver")]  # a real upgrade, announced as ever
        assert selectors.member_tier(user_id=member.pk).code == "gold"  # the trial still lifts the member
        clock.move_to(datetime(2026, 5, 1, 0, 30, tzinfo=SHANGHAI))
        report = services.points_tiers_recalculate()
        assert report.changes == []
        assert Account.objects.get(user=member).tier.code == "silver"
    finally:
        tier_changed.disconnect(record)
    assert events == [("regular", "silver")]  # no change when the trial ended or at the review


def test_the_tier_page_shows_the_trial_and_the_tier_that_follows(client, member):
    lend(member, "gold")
    lend(member, "gold", key="second")
    client.force_login(member)
    body = html.unescape(client.get(reverse("my_tier")).content.decode())
    assert 'data-testid="current-tier">Gold<' in body
    assert "Gold trial until 2026-04-17 12:00; then you are Regular again, or the tier you have earned by then." in body
    assert "Gold: now, until 2026-04-17 12:00" in body
    assert "Gold: from 2026-04-17 12:00 until 2026-04-24 12:00" in body
    assert "15% off" in body  # the trial tier's member price (|tier_discount: 85% of the price)
