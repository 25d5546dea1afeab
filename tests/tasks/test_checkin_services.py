"""Check-in services: the business day, streaks, the reward tables, make-ups, boosts, cards, reminders."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Notification
from catalog.enums import PrivilegeEffect
from catalog.services.privileges import EffectParams, effect_available
from points import services as points_services
from points.confirmation import Totals
from points.exceptions import InsufficientPointsError, PriceChangedError
from pointsmall import privileges
from tasks import selectors, services, signals
from tasks.exceptions import (
    InvalidCheckinPrivilegeError,
    InvalidReminderError,
    MakeupAlreadyCheckedError,
    MakeupBeforeJoiningError,
    MakeupDayError,
    MakeupDisabledError,
    MakeupLimitError,
    MakeupPaymentError,
    NoMakeupCardError,
)
from tasks.models import (
    Checkin,
    CheckinBoost,
    CheckinPolicy,
    CheckinReminder,
    CycleBonus,
    MakeupCardGrant,
    StreakReward,
)
from tests.tasks.checkin_support import SHANGHAI, T0, balance, entries, joined_member

UTC = ZoneInfo("UTC")


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(db):
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


@pytest.fixture
def member(db):
    return joined_member()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def policy(**fields) -> CheckinPolicy:
    row = CheckinPolicy.load()
    row.pk = 1
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def check_in(user, when: datetime) -> services.CheckinResult:
    with time_machine.travel(when, tick=False):
        return services.checkin_record(user_id=user.pk)


def days_in_a_row(user, first: datetime, count: int) -> list[services.CheckinResult]:
    return [check_in(user, first + timedelta(days=i)) for i in range(count)]


def fund(user, amount: int = 100) -> None:
    with time_machine.travel(at(2026, 1, 1, 8, 0), tick=False):
        points_services.points_earn(user_id=user.pk, amount=amount, idempotency_key=f"test-fund:{user.pk}")


def makeup(user, day: date, when: datetime = T0, **kwargs) -> services.CheckinResult:
    with time_machine.travel(when, tick=False):
        return services.checkin_makeup(user_id=user.pk, day=day, **kwargs)


def written(user) -> tuple:
    """Everything a refusal must leave unchanged."""
    return (
        list(Checkin.objects.filter(member=user).order_by("day").values_list("day", "kind", "streak", "points")),
        entries(user),
        list(MakeupCardGrant.objects.filter(member=user).values_list("used", "reversed_at")),
    )


# --- One check-in per business day ---------------------------------------------------------


def test_first_check_in_pays_the_base_amount(member):
    result = check_in(member, T0)
    assert (result.day, result.streak, result.points, result.bonus_points, result.already) == (
        date(2026, 1, 14),
        1,
        5,
        0,
        False,
    )
    assert balance(member) == 5
    assert entries(member) == [("earn", 5, f"checkin:{member.pk}:2026-01-14")]
    row = Checkin.objects.get(member=member)
    assert (row.kind, row.paid_with, row.streak, row.points, row.boost_id) == ("regular", "none", 1, 5, None)


def test_a_second_check_in_the_same_day_pays_nothing(member):
    first = check_in(member, at(2026, 1, 14, 0, 0, 1))
    again = check_in(member, at(2026, 1, 14, 23, 59, 59))
    assert again.already is True
    assert (again.checkin_id, again.points, again.streak) == (first.checkin_id, 5, 1)
    assert Checkin.objects.filter(member=member).count() == 1
    assert balance(member) == 5


def test_23_59_59_and_00_00_00_local_are_two_business_days(member):
    late = check_in(member, at(2026, 1, 14, 23, 59, 59))
    early = check_in(member, at(2026, 1, 15, 0, 0, 0))
    assert (late.day, early.day) == (date(2026, 1, 14), date(2026, 1, 15))
    assert (late.streak, early.streak) == (1, 2)
    assert early.already is False
    assert balance(member) == 10


def test_the_business_day_is_the_date_in_shanghai_not_utc(member):
    # 2026-01-14 16:30 UTC is already the 15th in Shanghai.
    result = check_in(member, datetime(2026, 1, 14, 16, 30, tzinfo=UTC))
    assert result.day == date(2026, 1, 15)


def test_across_a_month_end_the_streak_goes_on(member):
    results = days_in_a_row(member, at(2026, 1, 30, 23, 59, 59), 3)
    assert [(r.day, r.streak) for r in results] == [
        (date(2026, 1, 30), 1),
        (date(2026, 1, 31), 2),
        (date(2026, 2, 1), 3),
    ]


def test_the_streak_restarts_each_cycle_when_the_policy_says_so(member):
    policy(streak_reset="cycle")
    results = days_in_a_row(member, at(2026, 1, 30, 0, 0, 0), 3)
    assert [r.streak for r in results] == [1, 2, 1]


def test_weekly_cycle_restarts_the_streak_on_monday(member):
    policy(cycle="weekly", streak_reset="cycle")
    # 2026-01-17 is a Saturday.
    results = days_in_a_row(member, at(2026, 1, 17, 9, 0), 4)
    assert [(r.day.isoformat(), r.streak) for r in results] == [
        ("2026-01-17", 1),
        ("2026-01-18", 2),
        ("2026-01-19", 1),
        ("2026-01-20", 2),
    ]


def test_a_missed_day_restarts_the_streak(member):
    check_in(member, at(2026, 1, 10, 9, 0))
    check_in(member, at(2026, 1, 11, 9, 0))
    result = check_in(member, at(2026, 1, 13, 9, 0))
    assert result.streak == 1


def test_the_business_day_follows_a_changed_time_zone_and_never_goes_back(member, settings):
    first = check_in(member, datetime(2026, 1, 14, 16, 30, tzinfo=UTC))  # 00:30 on the 15th in Shanghai
    assert first.day == date(2026, 1, 15)
    settings.TIME_ZONE = "UTC"
    # In UTC it is the 14th again: the member already checked in on a later business day.
    replay = check_in(member, datetime(2026, 1, 14, 17, 0, tzinfo=UTC))
    assert (replay.already, replay.day) == (True, date(2026, 1, 15))
    same_day = check_in(member, datetime(2026, 1, 15, 23, 59, 59, tzinfo=UTC))
    assert (same_day.already, same_day.day) == (True, date(2026, 1, 15))
    next_day = check_in(member, datetime(2026, 1, 16, 0, 0, 0, tzinfo=UTC))
    assert (next_day.already, next_day.day, next_day.streak) == (False, date(2026, 1, 16), 2)
    assert Checkin.objects.filter(member=member).count() == 2
    assert balance(member) == 10


def test_a_zone_east_of_the_old_one_moves_the_day_forward(member, settings):
    settings.TIME_ZONE = "UTC"
    first = check_in(member, datetime(2026, 1, 14, 20, 0, tzinfo=UTC))
    settings.TIME_ZONE = "Asia/Shanghai"
    # Four hours later it is the 15th in Shanghai: a new business day.
    second = check_in(member, datetime(2026, 1, 15, 0, 0, tzinfo=UTC))
    assert (first.day, second.day, second.streak, second.already) == (date(2026, 1, 14), date(2026, 1, 15), 2, False)


def test_check_in_announces_itself(member):
    heard = []

    def listener(sender, **kwargs):
        heard.append({k: kwargs[k] for k in ("user_id", "day", "streak", "makeup")})

    signals.checkin_recorded.connect(listener)
    try:
        check_in(member, T0)
        check_in(member, T0)  # the second call says nothing
    finally:
        signals.checkin_recorded.disconnect(listener)
    assert heard == [{"user_id": member.pk, "day": date(2026, 1, 14), "streak": 1, "makeup": False}]


# --- The streak table and the base amount ---------------------------------------------------


def test_the_streak_table_pays_its_day_and_keeps_the_last_row(member):
    StreakReward.objects.create(day=3, points=8)
    StreakReward.objects.create(day=7, points=10)
    results = days_in_a_row(member, at(2026, 1, 1, 9, 0), 9)
    assert [r.points for r in results] == [5, 5, 8, 5, 5, 5, 10, 10, 10]
    assert balance(member) == 63


def test_the_streak_table_may_start_again_after_its_last_day(member):
    policy(after_table="repeat")
    StreakReward.objects.create(day=3, points=8)
    results = days_in_a_row(member, at(2026, 1, 1, 9, 0), 7)
    assert [r.points for r in results] == [5, 5, 8, 5, 5, 8, 5]


def test_the_base_amount_is_the_ledgers_checkin_rule(member):
    from points.models import EarningRule

    EarningRule.objects.filter(source="checkin").update(points=7)
    assert check_in(member, T0).points == 7


def test_a_switched_off_rule_records_the_check_in_without_points(member):
    from points.models import EarningRule

    EarningRule.objects.filter(source="checkin").update(active=False)
    result = check_in(member, T0)
    assert (result.points, result.streak, result.already) == (0, 1, False)
    assert entries(member) == []


# --- Cycle bonuses --------------------------------------------------------------------------


def test_a_cycle_bonus_is_paid_when_the_count_is_reached(member):
    CycleBonus.objects.create(days=3, points=30)
    results = [check_in(member, at(2026, 1, d, 9, 0)) for d in (2, 5, 9, 10)]
    assert [r.bonus_points for r in results] == [0, 0, 30, 0]
    assert balance(member) == 4 * 5 + 30
    assert (
        "earn",
        30,
        f"checkin-bonus:{member.pk}:2026-01-01:3",
    ) in entries(member)


def test_cycle_bonuses_count_per_cycle(member):
    policy(cycle="weekly")
    CycleBonus.objects.create(days=2, points=20)
    # Sat, Sun (week 1) then Mon, Tue (week 2): two bonuses, one per week.
    results = days_in_a_row(member, at(2026, 1, 17, 9, 0), 4)
    assert [r.bonus_points for r in results] == [0, 20, 0, 20]


def test_a_monthly_bonus_counts_again_from_the_first_at_midnight(member):
    CycleBonus.objects.create(days=2, points=20)
    results = [
        check_in(member, at(2026, 1, 30, 12, 0)),
        check_in(member, at(2026, 1, 31, 23, 59, 59)),
        check_in(member, at(2026, 2, 1, 0, 0, 0)),
        check_in(member, at(2026, 2, 2, 0, 0, 0)),
    ]
    assert [(r.day.isoformat(), r.streak, r.bonus_points) for r in results] == [
        ("2026-01-30", 1, 0),
        ("2026-01-31", 2, 20),
        ("2026-02-01", 3, 0),
        ("2026-02-02", 4, 20),
    ]
    assert [key for _kind, _amount, key in entries(member) if key.startswith("checkin-bonus")] == [
        f"checkin-bonus:{member.pk}:2026-01-01:2",
        f"checkin-bonus:{member.pk}:2026-02-01:2",
    ]


def test_a_cycle_bonus_is_paid_once_even_when_a_make_up_fills_the_count(member):
    fund(member)
    CycleBonus.objects.create(days=2, points=20)
    check_in(member, at(2026, 1, 12, 9, 0))
    second = check_in(member, at(2026, 1, 14, 9, 0))
    assert second.bonus_points == 20
    made_up = makeup(member, date(2026, 1, 13), when=at(2026, 1, 14, 10, 0))
    assert made_up.bonus_points == 0
    bonus_keys = [key for _kind, _amount, key in entries(member) if key.startswith("checkin-bonus")]
    assert bonus_keys == [f"checkin-bonus:{member.pk}:2026-01-01:2"]


def test_a_make_up_can_reach_a_cycle_bonus(member):
    fund(member)
    CycleBonus.objects.create(days=3, points=30)
    check_in(member, at(2026, 1, 12, 9, 0))
    check_in(member, at(2026, 1, 14, 9, 0))
    made_up = makeup(member, date(2026, 1, 13), when=at(2026, 1, 14, 10, 0))
    assert (made_up.points, made_up.bonus_points) == (5, 30)


# --- Make-up check-ins ----------------------------------------------------------------------


def test_a_make_up_costs_the_price_earns_the_base_and_joins_the_streak(member):
    fund(member)
    StreakReward.objects.create(day=2, points=50)  # a make-up earns no streak-table extra
    heard = []

    def listener(sender, **kwargs):
        heard.append((kwargs["day"], kwargs["streak"], kwargs["makeup"]))

    check_in(member, at(2026, 1, 12, 9, 0))
    check_in(member, at(2026, 1, 14, 9, 0))
    signals.checkin_recorded.connect(listener)
    try:
        result = makeup(member, date(2026, 1, 13), when=at(2026, 1, 14, 10, 0), confirmed=Totals(points=20))
    finally:
        signals.checkin_recorded.disconnect(listener)
    assert (result.day, result.streak, result.points, result.makeup, result.already) == (
        date(2026, 1, 13),
        2,
        5,
        True,
        False,
    )
    streaks = list(Checkin.objects.filter(member=member).order_by("day").values_list("day", "streak", "kind"))
    assert streaks == [
        (date(2026, 1, 12), 1, "regular"),
        (date(2026, 1, 13), 2, "makeup"),
        (date(2026, 1, 14), 3, "regular"),
    ]
    assert heard == [(date(2026, 1, 13), 3, True)]
    row = Checkin.objects.get(member=member, day=date(2026, 1, 13))
    assert (row.paid_with, row.price, row.points) == ("points", 20, 5)
    assert entries(member)[-2:] == [
        ("spend", -20, f"checkin-makeup:{member.pk}:2026-01-13"),
        ("earn", 5, f"checkin:{member.pk}:2026-01-13"),
    ]
    assert balance(member) == 100 + 5 + 5 - 20 + 5
    # The next check-in continues the recomputed streak.
    assert check_in(member, at(2026, 1, 15, 9, 0)).streak == 4
    assert selectors.current_streak(user_id=member.pk, today=date(2026, 1, 15)) == 4


def test_a_make_up_of_yesterday_before_checking_in_today_is_the_current_streak(member):
    fund(member)
    check_in(member, at(2026, 1, 12, 9, 0))
    result = makeup(member, date(2026, 1, 13), when=at(2026, 1, 14, 8, 0))
    assert result.streak == 2
    assert check_in(member, at(2026, 1, 14, 9, 0)).streak == 3


def test_a_make_up_twice_charges_once(member):
    fund(member)
    first = makeup(member, date(2026, 1, 13))
    again = makeup(member, date(2026, 1, 13))
    assert again.already is True
    assert again.checkin_id == first.checkin_id
    assert balance(member) == 100 - 20 + 5


def test_the_make_up_limit_per_cycle(member):
    fund(member)
    makeup(member, date(2026, 1, 2))
    makeup(member, date(2026, 1, 3))
    before = written(member)
    with pytest.raises(MakeupLimitError) as refusal:
        makeup(member, date(2026, 1, 4))
    assert refusal.value.message == "You have used all 2 make-up check-ins of this cycle."
    assert written(member) == before
    # A new cycle has room again.
    assert makeup(member, date(2026, 2, 2), when=at(2026, 2, 5, 9, 0)).already is False


def test_the_make_up_price_and_limit_are_operator_settings(member):
    fund(member)
    policy(makeup_price=35, makeup_limit=3)
    for d in (2, 3, 4):
        makeup(member, date(2026, 1, d))
    assert balance(member) == 100 - 3 * 35 + 3 * 5
    with pytest.raises(MakeupLimitError):
        makeup(member, date(2026, 1, 5))


def test_a_free_make_up_moves_no_points_out(member):
    policy(makeup_price=0)
    result = makeup(member, date(2026, 1, 13), confirmed=Totals(points=0))
    assert Checkin.objects.get(pk=result.checkin_id).paid_with == "none"
    assert entries(member) == [("earn", 5, f"checkin:{member.pk}:2026-01-13")]


@pytest.mark.parametrize(
    ("day", "error"),
    [
        (date(2026, 1, 14), MakeupDayError),  # today
        (date(2026, 1, 15), MakeupDayError),  # the future
        (date(2025, 12, 31), MakeupDayError),  # the previous cycle
    ],
)
def test_only_a_past_day_of_this_cycle_can_be_made_up(member, day, error):
    fund(member)
    before = written(member)
    with pytest.raises(error):
        makeup(member, day)
    assert written(member) == before


def test_a_day_before_joining_cannot_be_made_up(db):
    late = joined_member(datetime(2026, 1, 10, 9, 0, tzinfo=SHANGHAI))
    fund(late)
    before = written(late)
    with pytest.raises(MakeupBeforeJoiningError):
        makeup(late, date(2026, 1, 9))
    assert written(late) == before
    assert makeup(late, date(2026, 1, 10)).already is False


def test_a_checked_day_cannot_be_made_up(member):
    fund(member)
    check_in(member, at(2026, 1, 13, 9, 0))
    before = written(member)
    with pytest.raises(MakeupAlreadyCheckedError):
        makeup(member, date(2026, 1, 13))
    assert written(member) == before


@pytest.mark.parametrize("fields", [{"makeup_enabled": False}, {"makeup_limit": 0}])
def test_make_ups_switched_off(member, fields):
    fund(member)
    policy(**fields)
    before = written(member)
    with pytest.raises(MakeupDisabledError):
        makeup(member, date(2026, 1, 13))
    assert written(member) == before


def test_not_enough_points_for_a_make_up(member):
    before = written(member)
    with pytest.raises(InsufficientPointsError):
        makeup(member, date(2026, 1, 13))
    assert written(member) == before


def test_a_changed_price_is_refused_and_nothing_is_charged(member):
    fund(member)
    policy(makeup_price=30)
    before = written(member)
    with pytest.raises(PriceChangedError) as refusal:
        makeup(member, date(2026, 1, 13), confirmed=Totals(points=20))
    assert "30 points" in refusal.value.message
    assert written(member) == before
    assert makeup(member, date(2026, 1, 13), confirmed=Totals(points=30)).already is False
    assert balance(member) == 100 - 30 + 5


def test_an_unknown_way_to_pay_is_refused(member):
    fund(member)
    before = written(member)
    with pytest.raises(MakeupPaymentError):
        makeup(member, date(2026, 1, 13), pay_with="cash")
    assert written(member) == before


# --- Make-up cards --------------------------------------------------------------------------


def test_a_make_up_card_pays_for_a_make_up(member):
    services.makeup_card_apply(user_id=member.pk, quantity=1, idempotency_key="order:1:effect", reference="order:1")
    assert selectors.makeup_cards_left(user_id=member.pk) == 1
    result = makeup(member, date(2026, 1, 13), pay_with="card")
    row = Checkin.objects.get(pk=result.checkin_id)
    assert (row.paid_with, row.price, row.card.idempotency_key) == ("card", 0, "order:1:effect")
    assert entries(member) == [("earn", 5, f"checkin:{member.pk}:2026-01-13")]
    assert selectors.makeup_cards_left(user_id=member.pk) == 0
    before = written(member)
    with pytest.raises(NoMakeupCardError):
        makeup(member, date(2026, 1, 12), pay_with="card")
    assert written(member) == before


def test_make_up_cards_are_applied_once_per_key(member):
    first = services.makeup_card_apply(user_id=member.pk, quantity=3, idempotency_key="k1", reference="order:1")
    again = services.makeup_card_apply(user_id=member.pk, quantity=3, idempotency_key="k1", reference="order:1")
    assert first == again == services.PrivilegeDelivery(reference="k1")
    assert selectors.makeup_cards_left(user_id=member.pk) == 3
    with pytest.raises(InvalidCheckinPrivilegeError):
        services.makeup_card_apply(user_id=member.pk, quantity=0, idempotency_key="k2")


def test_unused_make_up_cards_can_be_taken_back_used_ones_cannot(member):
    services.makeup_card_apply(user_id=member.pk, quantity=2, idempotency_key="unused")
    services.makeup_card_apply(user_id=member.pk, quantity=1, idempotency_key="used")
    with time_machine.travel(T0, tick=False):
        # The oldest grant is used first: take "unused" back before using a card.
        assert services.makeup_card_reverse(user_id=member.pk, idempotency_key="unused") is True
        assert services.makeup_card_reverse(user_id=member.pk, idempotency_key="unused") is True
    makeup(member, date(2026, 1, 13), pay_with="card")
    assert services.makeup_card_reverse(user_id=member.pk, idempotency_key="used") is False
    assert services.makeup_card_reverse(user_id=member.pk, idempotency_key="nothing") is True
    assert selectors.makeup_cards_left(user_id=member.pk) == 0
    assert MakeupCardGrant.objects.get(idempotency_key="used").reversed_at is None


# --- Check-in boosts ------------------------------------------------------------------------


def boost(user, *, days=2, multiplier="2", key="boost:1", when=T0):
    with time_machine.travel(when, tick=False):
        return services.checkin_boost_apply(
            user_id=user.pk, days=days, multiplier=Decimal(multiplier), idempotency_key=key, reference="order:1"
        )


def test_a_boost_multiplies_the_daily_points_rounded_down(member):
    StreakReward.objects.create(day=2, points=7)
    boost(member, days=2, multiplier="1.5", when=at(2026, 1, 14, 8, 0))
    first = check_in(member, at(2026, 1, 14, 9, 0))
    second = check_in(member, at(2026, 1, 15, 9, 0))
    third = check_in(member, at(2026, 1, 16, 9, 0))  # the boost ended at 08:00
    assert [(r.points, r.multiplier) for r in (first, second, third)] == [
        (7, Decimal("1.50")),
        (10, Decimal("1.50")),
        (7, None),  # past the table: its last row, unboosted
    ]
    assert Checkin.objects.get(day=date(2026, 1, 14)).boost.idempotency_key == "boost:1"


def test_boosts_queue_instead_of_stacking(member):
    first = boost(member, days=2, key="a")
    second = boost(member, days=3, key="b", when=T0 + timedelta(hours=1))
    assert (first.starts_at, first.ends_at) == (T0, T0 + timedelta(days=2))
    assert (second.starts_at, second.ends_at) == (T0 + timedelta(days=2), T0 + timedelta(days=5))
    assert boost(member, days=3, key="b") == second  # the same key: the same boost


def test_invalid_boosts_are_refused(member):
    for days, multiplier in ((0, "2"), (3, "1"), (3, "0.5")):
        with pytest.raises(InvalidCheckinPrivilegeError):
            boost(member, days=days, multiplier=multiplier, key=f"bad:{days}:{multiplier}")
    assert not CheckinBoost.objects.exists()


def test_an_unused_boost_can_be_taken_back_a_used_one_cannot(member):
    boost(member, key="used", when=at(2026, 1, 14, 8, 0))
    boost(member, key="queued", when=at(2026, 1, 14, 8, 0))
    check_in(member, at(2026, 1, 14, 9, 0))
    with time_machine.travel(at(2026, 1, 14, 10, 0), tick=False):
        assert services.checkin_boost_reverse(user_id=member.pk, idempotency_key="used") is False
        assert services.checkin_boost_reverse(user_id=member.pk, idempotency_key="queued") is True
        assert services.checkin_boost_reverse(user_id=member.pk, idempotency_key="queued") is True
    # The taken-back boost pays nothing when its window comes.
    assert check_in(member, at(2026, 1, 17, 9, 0)).points == 5


def test_a_boost_taken_back_before_any_check_in_pays_nothing(member):
    boost(member, key="k", when=at(2026, 1, 14, 8, 0))
    with time_machine.travel(at(2026, 1, 14, 8, 30), tick=False):
        assert services.checkin_boost_reverse(user_id=member.pk, idempotency_key="k") is True
    assert check_in(member, at(2026, 1, 14, 9, 0)).points == 5


def test_a_make_up_earns_no_boost(member):
    fund(member)
    boost(member, key="k", when=at(2026, 1, 14, 8, 0))
    assert makeup(member, date(2026, 1, 13), when=at(2026, 1, 14, 9, 0)).points == 5
    assert services.checkin_boost_reverse(user_id=member.pk, idempotency_key="k") is True


# --- Privileges wired into the catalog ------------------------------------------------------


def test_the_catalog_can_sell_the_check_in_privileges():
    assert effect_available(PrivilegeEffect.MAKEUP_CARD)
    assert effect_available(PrivilegeEffect.CHECKIN_MULTIPLIER)


def test_the_adapters_deliver_cards_and_boosts(member):
    with time_machine.travel(T0, tick=False):
        cards = privileges.makeup_card_apply(
            user_id=member.pk, quantity=2, params=EffectParams(), idempotency_key="PM1:effect", reference="PM1"
        )
        boosted = privileges.checkin_multiplier_apply(
            user_id=member.pk,
            quantity=2,
            params=EffectParams(days=3, multiplier=Decimal("2.00")),
            idempotency_key="PM2:effect",
            reference="PM2",
        )
    assert (cards.reference, cards.starts_at, cards.ends_at) == ("PM1:effect", None, None)
    assert (boosted.reference, boosted.starts_at, boosted.ends_at) == ("PM2:effect", T0, T0 + timedelta(days=6))
    assert selectors.makeup_cards_left(user_id=member.pk) == 2
    assert privileges.makeup_card_reverse(user_id=member.pk, idempotency_key="PM1:effect") is True
    assert privileges.checkin_multiplier_reverse(user_id=member.pk, idempotency_key="PM2:effect") is True
    assert selectors.makeup_cards_left(user_id=member.pk) == 0


# --- Reminders ------------------------------------------------------------------------------


def reminders(user) -> list[tuple[str, str, str]]:
    return list(Notification.objects.filter(user=user).values_list("message_code", "dedupe_key", "link"))


def test_reminders_go_at_the_chosen_hour_once_a_day(member, other_member):
    services.checkin_reminder_set(user_id=member.pk, enabled=True, hour=20)
    services.checkin_reminder_set(user_id=other_member.pk, enabled=True, hour=21)
    with time_machine.travel(at(2026, 1, 14, 20, 0, 3), tick=False):
        assert services.checkin_reminders_send() == 1
        assert services.checkin_reminders_send() == 0
    with time_machine.travel(at(2026, 1, 14, 20, 59), tick=False):
        assert services.checkin_reminders_send() == 0
    assert reminders(member) == [("tasks.checkin_reminder", "checkin-reminder:2026-01-14", "/checkin/")]
    assert reminders(other_member) == []
    with time_machine.travel(at(2026, 1, 15, 20, 0), tick=False):
        assert services.checkin_reminders_send() == 1
    assert len(reminders(member)) == 2


def test_no_reminder_after_checking_in_or_when_switched_off(member, other_member):
    services.checkin_reminder_set(user_id=member.pk, enabled=True, hour=20)
    services.checkin_reminder_set(user_id=other_member.pk, enabled=False, hour=20)
    check_in(member, at(2026, 1, 14, 19, 0))
    with time_machine.travel(at(2026, 1, 14, 20, 0), tick=False):
        assert services.checkin_reminders_send() == 0
    assert reminders(member) == reminders(other_member) == []


def test_the_reminder_hour_is_business_time(member, settings):
    services.checkin_reminder_set(user_id=member.pk, enabled=True, hour=8)
    with time_machine.travel(datetime(2026, 1, 14, 0, 0, tzinfo=UTC), tick=False):  # 08:00 in Shanghai
        assert services.checkin_reminders_send() == 1


def test_a_reminder_reads_in_the_readers_language(member):
    from django.utils import translation

    from points import notices

    services.checkin_reminder_set(user_id=member.pk, enabled=True, hour=20)
    with time_machine.travel(at(2026, 1, 14, 20, 0), tick=False):
        services.checkin_reminders_send()
    note = Notification.objects.get(user=member)
    text = notices.render(note.message_code, note.params)
    assert text.title == "Don't forget to check in today"
    with translation.override("zh-hans"):
        assert notices.render(note.message_code, note.params) is not None


def test_the_reminder_job_and_command_send_the_same(member):
    from django.core.management import call_command

    from tasks import jobs

    services.checkin_reminder_set(user_id=member.pk, enabled=True, hour=20)
    with time_machine.travel(at(2026, 1, 14, 20, 0), tick=False):
        assert jobs.tasks_checkin_remind() == 1
        call_command("tasks_checkin_remind", stdout=__import__("io").StringIO())
    assert len(reminders(member)) == 1


def test_reminder_settings_are_checked(member):
    with pytest.raises(InvalidReminderError):
        services.checkin_reminder_set(user_id=member.pk, enabled=True, hour=24)
    assert not CheckinReminder.objects.exists()
    services.checkin_reminder_set(user_id=member.pk, enabled=True, hour=7)
    services.checkin_reminder_set(user_id=member.pk, enabled=False, hour=9)
    row = CheckinReminder.objects.get(member=member)
    assert (row.enabled, row.hour) == (False, 9)


# --- Defaults -------------------------------------------------------------------------------


def test_the_default_tables_are_seeded_once(db):
    services.checkin_rules_seed()
    StreakReward.objects.filter(day=7).update(points=12)
    services.checkin_rules_seed()
    assert list(StreakReward.objects.values_list("day", "points")) == [(7, 12)]
    assert list(CycleBonus.objects.values_list("days", "points")) == [(10, 10), (20, 20), (28, 50)]
    loaded = CheckinPolicy.load()
    assert (loaded.cycle, loaded.makeup_price, loaded.makeup_limit, loaded.makeup_enabled) == ("monthly", 20, 2, True)
    assert timezone.now()  # the seed needs no clock
