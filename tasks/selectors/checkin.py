"""Reads of daily check-in: the member's check-in page (calendar of the cycle, streak, what
tomorrow gives, make-up options, boosts and cards) and the make-up price confirmation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import F, Sum
from django.utils import timezone

from points import selectors as points_selectors
from points.confirmation import Totals, confirmation_read, confirmation_sign
from points.enums import EarningSource
from pointsmall.kernel import clock
from tasks.models.checkin import (
    Checkin,
    CheckinBoost,
    CheckinKind,
    CheckinPolicy,
    CheckinReminder,
    CycleBonus,
    MakeupCardGrant,
    StreakReward,
)
from tasks.rules import checkin as rules

MAKEUP_PURPOSE = "tasks.makeup_checkin"

# Calendar cell states.
CHECKED = "checked"
MADE_UP = "made_up"
MISSED = "missed"
MAKEUP = "makeup"  # missed, and can be made up now
TODAY = "today"
FUTURE = "future"
BEFORE_JOINING = "before_joining"

__all__ = [
    "BoostView",
    "CalendarDay",
    "CheckinPage",
    "checkin_page",
    "current_streak",
    "makeup_cards_left",
    "makeup_confirmation_read",
    "makeup_confirmation_sign",
]


def makeup_subject(day: date) -> str:
    return f"checkin:{day.isoformat()}"


def makeup_confirmation_sign(*, user_id: int, day: date, price: int) -> str:
    """The token a make-up form carries: this member saw ``price`` points for ``day`` (decision 0016)."""
    return confirmation_sign(
        purpose=MAKEUP_PURPOSE, user_id=user_id, subject=makeup_subject(day), totals=Totals(points=price)
    )


def makeup_confirmation_read(*, token: str, user_id: int, day: date) -> Totals:
    """The totals a make-up form's token confirms. Raises points' ConfirmationInvalidError."""
    return confirmation_read(token=token, purpose=MAKEUP_PURPOSE, user_id=user_id, subject=makeup_subject(day))


@dataclass(frozen=True)
class CalendarDay:
    day: date
    state: str
    points: int = 0
    token: str = ""  # the make-up confirmation, for a day that can be made up


@dataclass(frozen=True)
class BoostView:
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    running: bool


@dataclass(frozen=True)
class BonusView:
    days: int
    points: int
    reached: bool


@dataclass(frozen=True)
class CheckinPage:
    today: date
    cycle: str
    cycle_start: date
    cycle_end: date
    leading_blanks: int  # empty cells before the cycle's first day in a Monday-first grid
    days: list[CalendarDay]
    makeup_open: list[CalendarDay]  # the days that can be made up now, each with its token
    checked_today: bool
    today_points: int
    today_bonus: int
    streak: int
    count_in_cycle: int
    tomorrow: rules.Tomorrow
    bonuses: list[BonusView]
    makeup_enabled: bool
    makeup_price: int
    makeup_limit: int
    makeup_used: int
    makeup_left: int
    cards: int
    boosts: list[BoostView]
    reminder_enabled: bool
    reminder_hour: int
    base: int


def makeup_cards_left(*, user_id: int) -> int:
    """Make-up cards the member holds now (granted, not used, not taken back)."""
    left = (
        MakeupCardGrant.objects.filter(member_id=user_id, reversed_at__isnull=True)
        .annotate(left=F("quantity") - F("used"))
        .aggregate(total=Sum("left"))["total"]
    )
    return int(left or 0)


def current_streak(*, user_id: int, today: date) -> int:
    """The streak ending today, or yesterday when today is not checked yet (it can still go on)."""
    row = (
        Checkin.objects.filter(member_id=user_id, day__in=[today, today - timedelta(days=1)])
        .order_by("-day")
        .values_list("day", "streak")
        .first()
    )
    return row[1] if row else 0


@dataclass(frozen=True)
class _Rules:
    """The check-in rules every member's page reads alike (the policy, the fixed points a
    check-in pays, the streak table, the cycle bonuses), cached together (docs/decisions/0048)."""

    policy: CheckinPolicy
    base: int
    table: dict[int, int]
    bonuses: dict[int, int]


RULES_GENERATION = "checkin_rules"


def _build_rules() -> _Rules:
    base = points_selectors.earning_points(source=EarningSource.CHECKIN)
    return _Rules(
        policy=CheckinPolicy.load(),
        base=base,
        # Without a fixed base the streak table pays nothing (rules.tomorrow_gives).
        table=dict(StreakReward.objects.values_list("day", "points")) if base else {},
        bonuses=dict(CycleBonus.objects.values_list("days", "points")),
    )


def checkin_rules() -> _Rules:
    """The check-in rules as of the last admin save: four reads that are the same for every
    member, cached under the ``checkin_rules`` generation, which every save or delete of a
    CheckinPolicy, StreakReward, CycleBonus or EarningRule retires (``pointsmall.wiring``).
    Only the page reads them from here; the check-in services read the tables themselves."""
    from pointsmall import cache as fragments

    return fragments.fragment(RULES_GENERATION, fragments.generation(RULES_GENERATION), (), _build_rules)


def checkin_page(*, user_id: int, now: datetime | None = None, joined_at: datetime | None = None) -> CheckinPage:
    """Everything the check-in page shows a member, at ``now`` (default: the clock).
    ``joined_at``: the member's ``date_joined`` when the caller holds it (else one more query)."""
    now = now or timezone.now()
    today = clock.business_date(now)
    rules_now = checkin_rules()
    policy = rules_now.policy
    start, end = rules.cycle_bounds(today, policy.cycle)
    rows = {
        r.day: r
        for r in Checkin.objects.filter(member_id=user_id, day__gte=start, day__lte=end).only(
            "day", "kind", "points", "bonus_points", "streak"
        )
    }
    if joined_at is None:
        joined_at = get_user_model().objects.filter(pk=user_id).values_list("date_joined", flat=True).get()
    joined = clock.business_date(joined_at)
    used = sum(1 for r in rows.values() if r.kind == CheckinKind.MAKEUP)
    makeup_open = rules.makeup_days(
        today=today,
        cycle=policy.cycle,
        checked=rows.keys(),
        joined=joined,
        used=used,
        limit=policy.makeup_limit,
        enabled=policy.makeup_enabled,
    )
    days = []
    current = start
    while current <= end:
        row = rows.get(current)
        if row is not None:
            state = MADE_UP if row.kind == CheckinKind.MAKEUP else CHECKED
            days.append(CalendarDay(current, state, row.points + row.bonus_points))
        elif current == today:
            days.append(CalendarDay(current, TODAY))
        elif current > today:
            days.append(CalendarDay(current, FUTURE))
        elif current < joined:
            days.append(CalendarDay(current, BEFORE_JOINING))
        elif current in makeup_open:
            token = makeup_confirmation_sign(user_id=user_id, day=current, price=policy.makeup_price)
            days.append(CalendarDay(current, MAKEUP, token=token))
        else:
            days.append(CalendarDay(current, MISSED))
        current += timedelta(days=1)
    base, table, bonuses = rules_now.base, rules_now.table, rules_now.bonuses
    streak = current_streak(user_id=user_id, today=today)
    today_row = rows.get(today)
    if today_row is None and streak and policy.streak_reset == rules.RESET_ON_CYCLE and start == today:
        streak = 0  # a new cycle restarts the streak
    # The boosts not over yet, in one query: the list shown, and the boost the check-in service
    # will find running when tomorrow's business day begins (tomorrow is after now, so it is
    # among them; the first in the service's order, starts_at then pk).
    running_boosts = list(
        CheckinBoost.objects.filter(member_id=user_id, reversed_at__isnull=True, ends_at__gt=now).order_by(
            "starts_at", "pk"
        )
    )
    tomorrow_at = clock.business_day_start(today + timedelta(days=1))
    tomorrow_boost = next(
        (b.multiplier for b in running_boosts if b.starts_at <= tomorrow_at < b.ends_at),
        None,
    )
    tomorrow = rules.tomorrow_gives(
        today=today,
        streak_today=streak,
        checked_today=today_row is not None,
        count_in_cycle=len(rows),
        table=table,
        bonuses=bonuses,
        base=base,
        cycle=policy.cycle,
        reset=policy.streak_reset,
        after_table=policy.after_table,
        multiplier=tomorrow_boost,
    )
    boosts = [BoostView(b.multiplier, b.starts_at, b.ends_at, b.starts_at <= now) for b in running_boosts]
    reminder = CheckinReminder.objects.filter(member_id=user_id).first()
    return CheckinPage(
        today=today,
        cycle=policy.cycle,
        cycle_start=start,
        cycle_end=end,
        leading_blanks=start.weekday(),
        days=days,
        makeup_open=[d for d in days if d.state == MAKEUP],
        checked_today=today_row is not None,
        today_points=today_row.points if today_row else 0,
        today_bonus=today_row.bonus_points if today_row else 0,
        streak=streak,
        count_in_cycle=len(rows),
        tomorrow=tomorrow,
        # A weekly cycle never reaches a 10-day bonus: only what this cycle can pay is shown.
        bonuses=[BonusView(d, p, len(rows) >= d) for d, p in sorted(bonuses.items()) if d <= len(days)],
        makeup_enabled=policy.makeup_enabled,
        makeup_price=policy.makeup_price,
        makeup_limit=policy.makeup_limit,
        makeup_used=used,
        makeup_left=max(policy.makeup_limit - used, 0),
        cards=makeup_cards_left(user_id=user_id),
        boosts=boosts,
        reminder_enabled=bool(reminder and reminder.enabled),
        reminder_hour=reminder.hour if reminder else CheckinReminder._meta.get_field("hour").default,
        base=base,
    )
