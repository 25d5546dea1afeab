from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.dispatch import receiver

from points import selectors, services
from points.models import Account, Tier, TierPolicy
from points.signals import tier_changed, tier_downgrade_warning

SHANGHAI = ZoneInfo("Asia/Shanghai")


def tier_of(user):
    acc = Account.objects.select_related("tier").get(user=user)
    return acc.tier.code if acc.tier else "regular"


@pytest.fixture
def tier_events():
    events = []

    @receiver(tier_changed, weak=False)
    def record(sender, **kwargs):
        events.append((kwargs["old_tier"], kwargs["new_tier"], kwargs["change"]))

    yield events
    tier_changed.disconnect(record)


def test_upgrade_happens_the_moment_an_earn_reaches_the_threshold(member, tier_events):
    services.points_earn(user_id=member.pk, amount=999, idempotency_key="a")
    assert tier_of(member) == "regular"
    services.points_earn(user_id=member.pk, amount=1, idempotency_key="b")  # exactly 1000: threshold equality
    assert tier_of(member) == "silver"
    assert tier_events == [("regular", "silver", "upgrade")]


def test_pending_points_do_not_count_until_they_vest(member):
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=SHANGHAI), tick=False):
        services.points_earn(
            user_id=member.pk, amount=5000, idempotency_key="p", available_at=datetime(2026, 1, 8, tzinfo=SHANGHAI)
        )
        assert tier_of(member) == "regular"
    with time_machine.travel(datetime(2026, 1, 8, tzinfo=SHANGHAI), tick=False):
        services.points_vest()
    assert tier_of(member) == "gold"


def test_balance_does_not_matter_only_points_earned(member):
    services.points_earn(user_id=member.pk, amount=1000, idempotency_key="a")
    services.points_spend(user_id=member.pk, amount=1000, idempotency_key="s")
    assert tier_of(member) == "silver"


def test_a_jump_of_several_tiers_goes_straight_to_the_highest(member):
    services.points_earn(user_id=member.pk, amount=25000, idempotency_key="a")
    assert tier_of(member) == "diamond"


def test_monthly_recalculation_downgrades_one_step_at_a_time(member, tier_events):
    with time_machine.travel(datetime(2025, 1, 15, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=20000, idempotency_key="a")
    assert tier_of(member) == "diamond"
    with time_machine.travel(datetime(2026, 2, 1, 0, 30, tzinfo=SHANGHAI), tick=False):
        report = services.points_tiers_recalculate()
        assert (report.downgraded, tier_of(member)) == (1, "gold")
        assert services.points_tiers_recalculate().downgraded == 0  # a re-run in the same month: no second step
    with time_machine.travel(datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI), tick=False):
        services.points_tiers_recalculate()
    assert tier_of(member) == "silver"
    assert tier_events[-2:] == [("diamond", "gold", "downgrade"), ("gold", "silver", "downgrade")]


def test_policy_can_allow_dropping_straight_to_the_earned_tier(member):
    TierPolicy.objects.filter(pk=1).update(max_downgrade_steps=3)
    with time_machine.travel(datetime(2025, 1, 15, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=20000, idempotency_key="a")
    with time_machine.travel(datetime(2026, 2, 1, tzinfo=SHANGHAI), tick=False):
        services.points_tiers_recalculate()
    assert tier_of(member) == "regular"


def test_rolling_window_edge(member):
    with time_machine.travel(datetime(2025, 3, 1, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=1000, idempotency_key="a")
    # Exactly 12 months later the earn is still inside the window; a moment later it is not.
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=SHANGHAI), tick=False):
        assert selectors.tier_status(user_id=member.pk).qualifying_points == 1000
        assert services.points_tiers_recalculate(dry_run=True).downgraded == 0
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 1, tzinfo=SHANGHAI), tick=False):
        assert selectors.tier_status(user_id=member.pk).qualifying_points == 0
        assert services.points_tiers_recalculate(dry_run=True).downgraded == 1
    assert tier_of(member) == "silver"  # dry run changed nothing


def test_reversal_counts_against_qualifying_points(member):
    receipt = services.points_earn(user_id=member.pk, amount=1200, idempotency_key="a")
    services.points_reverse(user_id=member.pk, earn_entry_id=receipt.entry_id, amount=300, idempotency_key="r")
    assert selectors.tier_status(user_id=member.pk).qualifying_points == 900
    assert services.points_tiers_recalculate().changes == []  # upgrades are kept until a review
    with time_machine.travel(datetime.now(SHANGHAI) + timedelta(days=40), tick=False):
        services.points_tiers_recalculate()
    assert tier_of(member) == "regular"


def test_warning_two_weeks_before_a_downgrade_is_sent_once(member):
    warnings = []

    @receiver(tier_downgrade_warning, weak=False)
    def record(sender, **kwargs):
        warnings.append(kwargs)

    try:
        with time_machine.travel(datetime(2025, 6, 20, tzinfo=SHANGHAI), tick=False):
            services.points_earn(user_id=member.pk, amount=5200, idempotency_key="a")
        with time_machine.travel(datetime(2026, 3, 10, tzinfo=SHANGHAI), tick=False):
            services.points_earn(user_id=member.pk, amount=100, idempotency_key="b")
        with time_machine.travel(datetime(2026, 6, 10, tzinfo=SHANGHAI), tick=False):
            assert services.points_tiers_warn_downgrades() == 0  # too early: 21 days before 1 July
        with time_machine.travel(datetime(2026, 6, 20, tzinfo=SHANGHAI), tick=False):
            assert services.points_tiers_warn_downgrades() == 1
            assert services.points_tiers_warn_downgrades() == 0
            status = selectors.tier_status(user_id=member.pk)
    finally:
        tier_downgrade_warning.disconnect(record)
    # On 1 July only the March 100 counts (the June 2025 earn leaves the window): 4900 more to keep Gold.
    assert warnings == [
        {
            "signal": tier_downgrade_warning,
            "user_id": member.pk,
            "tier": "gold",
            "needed": 4900,
            "deadline": date(2026, 6, 30),
        }
    ]
    assert (status.keep_needed, status.keep_deadline) == (4900, date(2026, 6, 30))


def test_tier_status_progress_to_next(member):
    services.points_earn(user_id=member.pk, amount=3000, idempotency_key="a")
    status = selectors.tier_status(user_id=member.pk)
    assert (status.current.code, status.next.code, status.to_next, status.progress_percent) == (
        "silver",
        "gold",
        2000,
        50,
    )


def test_tiers_recalculate_command_dry_run(member):
    Account.objects.filter(user=member).update(tier=Tier.objects.get(code="gold"))
    out = StringIO()
    call_command("points_tiers_recalculate", "--dry-run", stdout=out)
    assert f"member {member.pk}: gold → silver" in out.getvalue()
    assert "Would change 1 of 1 members (0 up, 1 down)." in out.getvalue()
    assert tier_of(member) == "gold"


def test_my_tier_page(client, member):
    services.points_earn(user_id=member.pk, amount=1500, idempotency_key="a")
    client.force_login(member)
    body = client.get("/points/tier/").content.decode()
    assert "Silver" in body
    assert "Earn 3,500 more points to reach Gold." in body
    assert 'data-testid="header-tier"' in body


def test_rules_page_lists_live_earning_rules_and_tiers(client, db):
    from points.models import EarningRule, PurchasePolicy

    EarningRule.objects.filter(source="review").update(points=15, daily_cap=60)  # "share" waits for tasks
    PurchasePolicy.objects.filter(pk=1).update(pending_days=10)
    body = client.get("/rules/").content.decode()
    assert "pending for 10 days" in body
    assert "up to 60 a day" in body
    assert "20,000" in body  # Diamond threshold
