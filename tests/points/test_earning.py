from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from points import exceptions, rules, services
from points.exceptions import InvalidAmountError
from points.models import Account, Campaign, EarningRule, Entry, IdentityClaim, Tier
from tests.factories import MemberFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 3, 10, 12, tzinfo=SHANGHAI)  # a Tuesday


def balance(user):
    return Account.objects.get(user=user).balance


# --- pure rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "multipliers", "expected"),
    [
        (5, (Decimal("1.1"),), 5),  # 5.5 rounds down
        (10, (Decimal("1.1"), Decimal("2")), 22),
        (3, (Decimal("1.2"), Decimal("1.5")), 5),  # 5.4 → 5; flooring after each step would give 3 → 4
        (9, (Decimal("1.1"), Decimal("1.5")), 14),  # 14.85 → 14; flooring after each step would give 9 → 13
    ],
)
def test_multipliers_are_applied_together_and_rounded_down_once(base, multipliers, expected):
    assert rules.boosted(base, *multipliers) == expected


def test_purchase_points_round_down_once_over_all_lines():
    assert rules.purchase_base_points([(Decimal("0.60"), Decimal(1)), (Decimal("0.60"), Decimal(1))]) == 1
    assert rules.purchase_base_points([(Decimal("99.99"), Decimal(1))]) == 99


@pytest.mark.parametrize(
    ("caps", "granted", "room"),
    [
        ({"day": 100}, {"day": 99}, 1),
        ({"day": 100}, {"day": 100}, 0),
        ({"day": 100}, {"day": 130}, 0),
        ({"day": 100, "month": 120}, {"day": 10, "month": 115}, 5),
        ({"day": None}, {"day": 500}, None),
    ],
)
def test_cap_room_is_the_tightest_cap(caps, granted, room):
    assert rules.cap_room(caps, granted) == room


# --- awards, caps, campaigns ------------------------------------------------------------


def test_award_gives_the_rule_points(member):
    result = services.points_award(user_id=member.pk, source="review", idempotency_key="r1")
    assert (result.granted, result.message) == (5, "")
    assert Entry.objects.get(idempotency_key="r1").source == "review"


def test_award_is_idempotent(member):
    first = services.points_award(user_id=member.pk, source="share", idempotency_key="s1")
    again = services.points_award(user_id=member.pk, source="share", idempotency_key="s1")
    assert again.replayed and again.granted == first.granted == 10
    assert balance(member) == 10


def test_daily_cap_grants_up_to_the_cap_and_says_why(member):
    EarningRule.objects.filter(source="share").update(points=30, daily_cap=100)
    with time_machine.travel(NOON, tick=False):
        granted = [services.points_award(user_id=member.pk, source="share", idempotency_key=f"s{i}") for i in range(4)]
    assert [r.granted for r in granted] == [30, 30, 30, 10]
    assert granted[3].message == "10 of 30 Share points were added: the rest is over the limit."
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        refused = services.points_award(user_id=member.pk, source="share", idempotency_key="s9")
    assert refused.granted == 0 and refused.receipt is None
    assert "reached the limit for Share points" in refused.message
    assert balance(member) == 100


def test_daily_cap_resets_at_business_midnight(member):
    EarningRule.objects.filter(source="share").update(points=100, daily_cap=100)
    with time_machine.travel(datetime(2026, 3, 10, 23, 59, 59, tzinfo=SHANGHAI), tick=False):
        assert services.points_award(user_id=member.pk, source="share", idempotency_key="a").granted == 100
        assert services.points_award(user_id=member.pk, source="share", idempotency_key="b").granted == 0
    with time_machine.travel(datetime(2026, 3, 11, 0, 0, 0, tzinfo=SHANGHAI), tick=False):
        assert services.points_award(user_id=member.pk, source="share", idempotency_key="c").granted == 100


def test_monthly_cap_counts_the_whole_business_month(member):
    EarningRule.objects.filter(source="survey").update(points=80, monthly_cap=200)
    for day, key in ((1, "a"), (15, "b"), (31, "c")):
        with time_machine.travel(datetime(2026, 3, day, 9, tzinfo=SHANGHAI), tick=False):
            services.points_award(user_id=member.pk, source="survey", idempotency_key=key)
    assert balance(member) == 200
    with time_machine.travel(datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI), tick=False):
        assert services.points_award(user_id=member.pk, source="survey", idempotency_key="d").granted == 80


def test_switched_off_rule_grants_nothing_and_says_so(member):
    EarningRule.objects.filter(source="review").update(active=False)
    result = services.points_award(user_id=member.pk, source="review", idempotency_key="r")
    assert result.granted == 0
    assert result.message == "Points for Review are switched off at the moment."
    assert Entry.objects.count() == 0


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_bad_base_points_are_refused_and_write_nothing(member, bad):
    with pytest.raises(InvalidAmountError):
        services.points_award(user_id=member.pk, source="task", idempotency_key="t", base_points=bad)
    assert Entry.objects.count() == 0


def test_unknown_source_is_refused(member):
    with pytest.raises(exceptions.UnknownSourceError):
        services.points_award(user_id=member.pk, source="hacking", idempotency_key="x")
    assert Entry.objects.count() == 0


def _campaign(**fields):
    defaults = {
        "name": "Double points",
        "starts_at": datetime(2026, 3, 10, 10, tzinfo=SHANGHAI),
        "ends_at": datetime(2026, 3, 10, 20, tzinfo=SHANGHAI),
        "multiplier": Decimal("2"),
    }
    defaults.update(fields)
    return Campaign.objects.create(**defaults)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 3, 10, 9, 59, 59, 999999, tzinfo=SHANGHAI), 5),
        (datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI), 10),  # starts: inclusive
        (datetime(2026, 3, 10, 19, 59, 59, 999999, tzinfo=SHANGHAI), 10),
        (datetime(2026, 3, 10, 20, 0, tzinfo=SHANGHAI), 5),  # ends: exclusive
    ],
)
def test_campaign_window_boundaries(member, moment, expected):
    _campaign()
    with time_machine.travel(moment, tick=False):
        assert services.points_award(user_id=member.pk, source="review", idempotency_key="r").granted == expected


def test_campaign_limited_to_sources_and_tiers(member):
    gold = Tier.objects.get(code="gold")
    campaign = _campaign(sources=["checkin"])
    campaign.tiers.add(gold)
    with time_machine.travel(NOON, tick=False):
        assert services.points_award(user_id=member.pk, source="review", idempotency_key="a").granted == 5
        assert services.points_award(user_id=member.pk, source="checkin", idempotency_key="b").granted == 5
        Account.objects.filter(user=member).update(tier=gold)
        # Gold's ×1.2 and the campaign's ×2 together: 5 × 2.4 = 12.
        assert services.points_award(user_id=member.pk, source="checkin", idempotency_key="c").granted == 12


def test_best_campaign_wins_they_do_not_stack(member):
    _campaign(multiplier=Decimal("2"))
    _campaign(name="Triple", multiplier=Decimal("3"))
    with time_machine.travel(NOON, tick=False):
        assert services.points_award(user_id=member.pk, source="share", idempotency_key="a").granted == 30


def test_campaign_budget_caps_the_extra_points(member, other_member):
    campaign = _campaign(budget=8)
    with time_machine.travel(NOON, tick=False):
        first = services.points_award(user_id=member.pk, source="share", idempotency_key="a")
        second = services.points_award(user_id=other_member.pk, source="share", idempotency_key="b")
        third = services.points_award(user_id=other_member.pk, source="share", idempotency_key="c")
    # 10 base each: the first gets +8 extra (all the budget), then the budget is spent.
    assert (first.granted, second.granted, third.granted) == (18, 10, 10)
    campaign.refresh_from_db()
    assert campaign.budget_used == 8


def test_switched_off_campaign_stops_at_once(member):
    campaign = _campaign()
    with time_machine.travel(NOON, tick=False):
        assert services.points_award(user_id=member.pk, source="share", idempotency_key="a").granted == 20
        Campaign.objects.filter(pk=campaign.pk).update(active=False)
        assert services.points_award(user_id=member.pk, source="share", idempotency_key="b").granted == 10


def test_bonuses_ignore_multipliers(member):
    Account.objects.filter(user=member).update(tier=Tier.objects.get(code="diamond"))
    _campaign()
    with time_machine.travel(NOON, tick=False):
        result = services.signup_bonus_grant(user_id=member.pk, identities=[f"email:{member.email}"])
    assert result.granted == 100


# --- the sign-up bonus: once per person ----------------------------------------------------


def test_signup_bonus_paid_once_per_account(member):
    first = services.signup_bonus_grant(user_id=member.pk, identities=[f"email:{member.email}"])
    again = services.signup_bonus_grant(user_id=member.pk, identities=[f"email:{member.email}"])
    assert first.granted == 100 and again.replayed
    assert balance(member) == 100


def test_signup_bonus_refused_for_a_reused_email_even_after_the_account_is_gone(db):
    first = MemberFactory(email="Zoe@Example.com")
    services.signup_bonus_grant(user_id=first.pk, identities=["email:Zoe@Example.com"])
    second = MemberFactory(email="zoe+new@example.com")
    result = services.signup_bonus_grant(user_id=second.pk, identities=["email:zoe@example.com "])
    assert result.granted == 0
    assert result.message == "The sign-up bonus was already given to this e-mail address or phone."
    assert balance(second) == 0
    assert IdentityClaim.objects.count() == 1


def test_signup_bonus_refused_for_a_reused_phone(db):
    first = MemberFactory()
    services.signup_bonus_grant(user_id=first.pk, identities=[f"email:{first.email}", "phone:+8613800000000"])
    second = MemberFactory()
    result = services.signup_bonus_grant(
        user_id=second.pk, identities=[f"email:{second.email}", "phone:+8613800000000"]
    )
    assert result.granted == 0
    assert balance(second) == 0


def test_phone_verified_later_is_claimed_too(db):
    first = MemberFactory()
    services.signup_bonus_grant(user_id=first.pk, identities=[f"email:{first.email}"])
    services.claim_identities(user_id=first.pk, identities=["phone:+8613911112222"])
    second = MemberFactory()
    assert services.signup_bonus_grant(user_id=second.pk, identities=["phone:+8613911112222"]).granted == 0


def test_signup_bonus_needs_an_identity(member):
    result = services.signup_bonus_grant(user_id=member.pk, identities=["email:  "])
    assert result.granted == 0
    assert Entry.objects.count() == 0


@pytest.mark.django_db
def test_switching_campaigns_off_saves_only_the_active_ones():
    on, off = _campaign(), _campaign(active=False)
    assert services.points_campaigns_switch_off(campaign_ids=[on.pk, off.pk]) == 1
    on.refresh_from_db()
    assert on.active is False
    assert on.history.count() == 2  # created, then switched off: the history says who
    assert off.history.count() == 1


@pytest.mark.parametrize(
    ("identities", "usable"),
    [
        (
            ["email:a@example.com", "", "email:", "phone:  ", "phone:13812345678"],
            ["email:a@example.com", "phone:13812345678"],
        ),
        ([], []),
    ],
)
def test_only_identities_with_a_value_are_usable(identities, usable):
    assert rules.usable_identities(identities) == usable
