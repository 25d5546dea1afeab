"""Daily check-in: record a check-in, make up a missed day, deliver and take back the check-in
privileges (make-up cards, boosts), reminders, and the default reward tables.

Lock order everywhere: the member's points account first (``points.services.account_lock``),
then check-in rows. Every check-in write of one member therefore runs one at a time; the
unique (member, day) constraint is the last line of defence. Points move only through
``points.services`` with stable idempotency keys (docs/decisions/0024).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.enums import NotificationKind
from points import selectors as points_selectors
from points import services as points_services
from points.confirmation import Totals, confirmation_check
from points.enums import EarningSource
from points.notices import Notice
from pointsmall import cache as fragments
from pointsmall.kernel import clock
from pointsmall.kernel.singleton import SINGLETON_PK
from tasks import signals
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
from tasks.models.checkin import (
    MAX_CYCLE_DAYS,
    Checkin,
    CheckinBoost,
    CheckinKind,
    CheckinPaidWith,
    CheckinPolicy,
    CheckinReminder,
    CycleBonus,
    MakeupCardGrant,
    StreakReward,
)
from tasks.notices import checkin as notices
from tasks.rules import checkin as rules
from tasks.selectors.checkin import RULES_GENERATION, makeup_confirmation_read

logger = logging.getLogger(__name__)

PAY_WITH_POINTS = "points"
PAY_WITH_CARD = "card"
MAX_BOOST_DAYS = 366 * 10
# What a fresh mall pays (seeded by checkin_rules_seed, editable in admin): day 7 of a streak
# pays double the default base amount; 10, 20 and 28 check-ins in a month pay a bonus.
DEFAULT_STREAK_TABLE = {7: 10}
DEFAULT_CYCLE_BONUSES = {10: 10, 20: 20, 28: 50}
ONE_PER_DAY = "tasks_checkin_one_per_day"  # Checkin's unique (member, day) constraint

__all__ = [
    "PAY_WITH_CARD",
    "PAY_WITH_POINTS",
    "CheckinResult",
    "PrivilegeDelivery",
    "checkin_boost_apply",
    "checkin_boost_reverse",
    "checkin_makeup",
    "checkin_record",
    "checkin_reminder_set",
    "checkin_reminders_send",
    "checkin_rules_seed",
    "makeup_card_apply",
    "makeup_card_reverse",
]


@dataclass(frozen=True)
class CheckinResult:
    """A check-in (``already``: the day was checked in before and nothing was paid now).

    ``points``: the daily points granted (after boost, tier multiplier, campaign, caps);
    ``bonus_points``: cycle bonuses granted with it; ``streak``: the streak ending on ``day``.
    """

    checkin_id: int
    day: date
    streak: int
    points: int
    bonus_points: int
    already: bool = False
    makeup: bool = False
    multiplier: Decimal | None = None


@dataclass(frozen=True)
class PrivilegeDelivery:
    """What delivering a check-in privilege created: its key, and for a boost its window."""

    reference: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _result(row: Checkin, *, already: bool) -> CheckinResult:
    return CheckinResult(
        checkin_id=row.pk,
        day=row.day,
        streak=row.streak,
        points=row.points,
        bonus_points=row.bonus_points,
        already=already,
        makeup=row.kind == CheckinKind.MAKEUP,
        multiplier=row.boost.multiplier if row.boost is not None else None,
    )


def _table() -> dict[int, int]:
    return dict(StreakReward.objects.values_list("day", "points"))


def _bonuses() -> dict[int, int]:
    return dict(CycleBonus.objects.values_list("days", "points"))


def _streak_before(user_id: int, day: date) -> int:
    previous = Checkin.objects.filter(member_id=user_id, day=day - timedelta(days=1)).values_list("streak", flat=True)
    return previous.first() or 0


def _checkin_key(user_id: int, day: date) -> str:
    return f"checkin:{user_id}:{day.isoformat()}"


def _award_day(*, user_id: int, row: Checkin, points: int, memo: Notice, now: datetime) -> int:
    """Pay a checked day's points (``points`` before the tier and campaign multipliers, which
    ``points_award`` applies, within the rule's caps); returns what was granted (0 for 0)."""
    if points <= 0:
        return 0
    award = points_services.points_award(
        user_id=user_id,
        source=EarningSource.CHECKIN,
        base_points=points,
        idempotency_key=_checkin_key(user_id, row.day),
        reference=f"checkin:{row.pk}",
        **memo.memo,
        now=now,
    )
    return award.granted


def _pay_bonuses(
    *, user_id: int, policy: CheckinPolicy, cycle_start: date, cycle_end: date, now: datetime, count: int | None = None
) -> int:
    """Pay the cycle bonuses the member's latest check-in reached; returns the points granted.

    ``count``: the cycle's check-ins including the latest, when the caller has counted them
    (else one query counts them). Each bonus is keyed by member, cycle and threshold, so it is
    paid once per cycle whatever order (regular, make-up) the check-ins come in.
    """
    if count is None:
        count = Checkin.objects.filter(member_id=user_id, day__gte=cycle_start, day__lte=cycle_end).count()
    bonuses = _bonuses()
    granted = 0
    for days in rules.bonuses_crossed(count - 1, count, bonuses):
        award = points_services.points_award(
            user_id=user_id,
            source=EarningSource.CHECKIN,
            base_points=bonuses[days],
            idempotency_key=f"checkin-bonus:{user_id}:{cycle_start.isoformat()}:{days}",
            **notices.bonus_memo(days=days, cycle=policy.cycle, cycle_start=cycle_start).memo,
            now=now,
        )
        granted += award.granted
    return granted


def _active_boost(user_id: int, now: datetime) -> CheckinBoost | None:
    return (
        CheckinBoost.objects.filter(member_id=user_id, reversed_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
        .order_by("starts_at", "pk")
        .first()
    )


def _regular_since(user_id: int, day: date) -> Checkin | None:
    """The member's latest regular check-in on ``day`` or later (one read on the (member, day) index)."""
    return (
        Checkin.objects.filter(member_id=user_id, day__gte=day, kind=CheckinKind.REGULAR)
        .select_related("boost")
        .order_by("-day")
        .first()
    )


def checkin_record(*, user_id: int, now: datetime | None = None) -> CheckinResult:
    """Check the member in for today's business day (the date in ``TIME_ZONE`` at ``now``).

    Pays the streak table's points for the streak day (else the ledger's ``checkin`` rule),
    times a running check-in boost (rounded down), through ``points_award`` (tier multiplier,
    campaigns and caps apply there), and any cycle bonus this check-in reaches. Sends
    ``tasks.signals.checkin_recorded`` inside the transaction.
    Safe to call twice: a second call on the same business day returns that check-in with
    ``already=True`` and pays nothing, and so does a call whose business day is before the
    member's latest check-in (the mall's ``TIME_ZONE`` moved west: no second check-in for a day
    already lived). A repeat is answered by one indexed read, without a transaction or a lock;
    a first check-in locks the points account, then inserts the check-in row.
    Raises points' AccountNotFoundError for a member without an account.
    """
    now = now or timezone.now()
    day = clock.business_date(now)
    # The repeat click (a check-in storm is mostly repeats): a committed row is final, so it
    # needs no lock. A row not seen here is looked for again under the account lock, and the
    # unique (member, day) constraint stays the last line of defence.
    existing = _regular_since(user_id, day)
    if existing is not None:
        return _result(existing, already=True)
    try:
        return _checkin_record_locked(user_id=user_id, day=day, now=now)
    except IntegrityError as error:
        # Only reachable without the account lock (a row written outside this service): the
        # transaction (or its savepoint, inside a caller's) was rolled back whole, nothing paid.
        if not _is_one_per_day(error):
            raise
        return _result(Checkin.objects.select_related("boost").get(member_id=user_id, day=day), already=True)


def _is_one_per_day(error: IntegrityError) -> bool:
    """Whether the insert broke Checkin's unique (member, day) constraint: Postgres names the
    constraint; SQLite (the demo's database) names its columns in the message."""
    diag = getattr(error.__cause__, "diag", None)
    if diag is not None:
        return diag.constraint_name == ONE_PER_DAY
    return str(error).startswith("UNIQUE constraint failed: tasks_checkin.member_id, tasks_checkin.day")


@transaction.atomic
def _checkin_record_locked(*, user_id: int, day: date, now: datetime) -> CheckinResult:
    points_services.account_lock(user_id=user_id)
    policy = CheckinPolicy.load()
    cycle_start, cycle_end = rules.cycle_bounds(day, policy.cycle)
    yesterday = day - timedelta(days=1)
    # One read for what the check-in depends on: a regular check-in on or after ``day`` (a
    # click that raced this one, or a time zone moved west), yesterday's streak, the cycle's count.
    rows = list(
        Checkin.objects.filter(member_id=user_id, day__gte=min(cycle_start, yesterday))
        .order_by()
        .values_list("day", "kind", "streak")
    )
    if any(d >= day and kind == CheckinKind.REGULAR for d, kind, _streak in rows):
        existing = _regular_since(user_id, day)
        assert existing is not None  # the account lock is held: the row seen is still there
        return _result(existing, already=True)
    previous_streak = next((streak for d, _kind, streak in rows if d == yesterday), 0)
    streak = rules.streak_day(previous_streak=previous_streak, day=day, cycle=policy.cycle, reset=policy.streak_reset)
    base = points_selectors.earning_points(source=EarningSource.CHECKIN)
    daily = rules.streak_points(streak, _table(), base=base, after_table=policy.after_table) if base else 0
    boost = _active_boost(user_id, now)
    daily = rules.boosted_points(daily, boost.multiplier if boost is not None else None)
    # No savepoint: under the account lock the insert cannot conflict; if a row written outside
    # this service makes it, checkin_record catches the IntegrityError after the rollback.
    row = Checkin.objects.create(
        member_id=user_id, day=day, kind=CheckinKind.REGULAR, streak=streak, boost=boost, created_at=now
    )
    multiplier = format(boost.multiplier.normalize(), "f") if boost is not None else ""
    memo = notices.checkin_memo(when=day, streak=streak, multiplier=multiplier)
    granted = _award_day(user_id=user_id, row=row, points=daily, memo=memo, now=now)
    count = 1 + sum(1 for d, _kind, _streak in rows if cycle_start <= d <= cycle_end)
    bonus = _pay_bonuses(
        user_id=user_id, policy=policy, cycle_start=cycle_start, cycle_end=cycle_end, now=now, count=count
    )
    Checkin.objects.filter(pk=row.pk).update(points=granted, bonus_points=bonus)
    row.points, row.bonus_points = granted, bonus
    signals.checkin_recorded.send(sender=Checkin, user_id=user_id, day=day, streak=streak, makeup=False, at=now)
    return _result(row, already=False)


def _joined_on(user_id: int) -> date:
    joined = get_user_model().objects.filter(pk=user_id).values_list("date_joined", flat=True).get()
    return clock.business_date(joined)


def _available_card(user_id: int) -> MakeupCardGrant | None:
    return (
        MakeupCardGrant.objects.select_for_update()
        .filter(member_id=user_id, reversed_at__isnull=True, used__lt=F("quantity"))
        .order_by("created_at", "pk")
        .first()
    )


def _recompute_streaks(*, user_id: int, after: date, streak: int, policy: CheckinPolicy) -> int:
    """Renumber the streak of the check-ins that follow ``after`` without a gap; returns the
    streak of the last of them (``streak`` when none follows). Their points do not change."""
    rows = list(
        Checkin.objects.select_for_update()
        .filter(member_id=user_id, day__gt=after)
        .order_by("day")
        .values_list("pk", "day", "streak")[: MAX_CYCLE_DAYS + 1]  # a make-up is within the current cycle
    )
    expected = after + timedelta(days=1)
    for pk, day, stored in rows:
        if day != expected:
            break
        streak = rules.streak_day(previous_streak=streak, day=day, cycle=policy.cycle, reset=policy.streak_reset)
        if stored != streak:
            Checkin.objects.filter(pk=pk).update(streak=streak)
        expected += timedelta(days=1)
    return streak


@transaction.atomic
def checkin_makeup(
    *,
    user_id: int,
    day: date,
    pay_with: str = PAY_WITH_POINTS,
    confirmed: Totals | None = None,
    confirmation: str | None = None,
    now: datetime | None = None,
) -> CheckinResult:
    """Make up a missed ``day`` of the current cycle (补签), paying points or a make-up card.

    The day earns the ``checkin`` rule's base amount only (no streak-table extra, no boost),
    counts for the cycle's bonuses (it may pay one) and joins the streak: the check-ins that
    follow it without a gap get their streak renumbered. ``confirmed``: the totals the member
    saw (points.confirmation, purpose ``tasks.makeup_checkin``); None only for callers no member
    watches. ``confirmation``: instead of ``confirmed``, the make-up form's signed token, read
    only once the day and the limit are checked (a bad day is refused for the day, not the
    token); a bad token raises points' ConfirmationInvalidError. Raises MakeupDisabledError,
    MakeupPaymentError, MakeupDayError (not a day of this cycle before today),
    MakeupBeforeJoiningError, MakeupAlreadyCheckedError, MakeupLimitError,
    NoMakeupCardError, points' PriceChangedError and InsufficientPointsError; on any of them
    nothing is written. Locks: the points account, then the card grant.
    Safe to call twice: a day already made up returns it with ``already=True``, charging nothing.
    """
    now = now or timezone.now()
    today = clock.business_date(now)
    points_services.account_lock(user_id=user_id)
    existing = Checkin.objects.filter(member_id=user_id, day=day).select_related("boost").first()
    if existing is not None and existing.kind == CheckinKind.MAKEUP:
        return _result(existing, already=True)
    policy = CheckinPolicy.load()
    if not policy.makeup_enabled or policy.makeup_limit == 0:
        raise MakeupDisabledError()
    if pay_with not in (PAY_WITH_POINTS, PAY_WITH_CARD):
        raise MakeupPaymentError()
    cycle_start, cycle_end = rules.cycle_bounds(today, policy.cycle)
    if not cycle_start <= day < today:
        raise MakeupDayError()
    if day < _joined_on(user_id):
        raise MakeupBeforeJoiningError()
    if existing is not None:
        raise MakeupAlreadyCheckedError(day=day.isoformat())
    used = Checkin.objects.filter(
        member_id=user_id, kind=CheckinKind.MAKEUP, day__gte=cycle_start, day__lte=cycle_end
    ).count()
    if used >= policy.makeup_limit:
        raise MakeupLimitError(limit=policy.makeup_limit)
    card = None
    price = 0
    if pay_with == PAY_WITH_CARD:
        card = _available_card(user_id)
        if card is None:
            raise NoMakeupCardError()
    else:
        price = policy.makeup_price
        if confirmation is not None:
            confirmed = makeup_confirmation_read(token=confirmation, user_id=user_id, day=day)
        if confirmed is not None:
            confirmation_check(confirmed=confirmed, actual=Totals(points=price))
    streak = rules.streak_day(
        previous_streak=_streak_before(user_id, day), day=day, cycle=policy.cycle, reset=policy.streak_reset
    )
    row = Checkin.objects.create(
        member_id=user_id,
        day=day,
        kind=CheckinKind.MAKEUP,
        paid_with=CheckinPaidWith.CARD if card else (CheckinPaidWith.POINTS if price else CheckinPaidWith.NONE),
        price=price,
        streak=streak,
        card=card,
        created_at=now,
    )
    if card is not None:
        taken = MakeupCardGrant.objects.filter(pk=card.pk, used__lt=F("quantity")).update(used=F("used") + 1)
        if taken != 1:  # pragma: no cover - the account lock serialises card use
            raise NoMakeupCardError()
    elif price:
        points_services.points_spend(
            user_id=user_id,
            amount=price,
            idempotency_key=f"checkin-makeup:{user_id}:{day.isoformat()}",
            reference=f"checkin:{row.pk}",
            **notices.makeup_spend_memo(when=day).memo,
            now=now,
        )
    base = points_selectors.earning_points(source=EarningSource.CHECKIN)
    granted = _award_day(user_id=user_id, row=row, points=base, memo=notices.makeup_memo(when=day), now=now)
    _recompute_streaks(user_id=user_id, after=day, streak=streak, policy=policy)
    bonus = _pay_bonuses(user_id=user_id, policy=policy, cycle_start=cycle_start, cycle_end=cycle_end, now=now)
    Checkin.objects.filter(pk=row.pk).update(points=granted, bonus_points=bonus)
    row.points, row.bonus_points = granted, bonus
    # The renumbered rows hold the streak: the current one ends today or yesterday.
    current = (
        Checkin.objects.filter(member_id=user_id, day__in=[today, today - timedelta(days=1)])
        .order_by("-day")
        .values_list("streak", flat=True)
        .first()
    ) or 0
    signals.checkin_recorded.send(sender=Checkin, user_id=user_id, day=day, streak=current, makeup=True, at=now)
    return _result(row, already=False)


# --- Privileges: make-up cards and check-in boosts ------------------------------------------


@transaction.atomic
def makeup_card_apply(*, user_id: int, quantity: int, idempotency_key: str, reference: str = "") -> PrivilegeDelivery:
    """Give the member ``quantity`` make-up cards (a completed privilege order).

    Raises InvalidCheckinPrivilegeError for a quantity below 1. Locks: the points account.
    Safe to call twice: the same key returns the first grant.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
        raise InvalidCheckinPrivilegeError()
    points_services.account_lock(user_id=user_id)
    grant, _created = MakeupCardGrant.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "member_id": user_id,
            "quantity": quantity,
            "reference": reference[:120],
            "created_at": timezone.now(),
        },
    )
    return PrivilegeDelivery(reference=grant.idempotency_key)


@transaction.atomic
def makeup_card_reverse(*, user_id: int, idempotency_key: str) -> bool:
    """Take back the cards of a grant while none of them is used.

    Returns True when they are taken back (or were already, or there is no such grant),
    False when a card of it was used. Locks: the points account, then the grant.
    Safe to call twice.
    """
    points_services.account_lock(user_id=user_id)
    grant = (
        MakeupCardGrant.objects.select_for_update().filter(idempotency_key=idempotency_key, member_id=user_id).first()
    )
    if grant is None or grant.reversed_at is not None:
        return True
    if grant.used > 0:
        return False
    MakeupCardGrant.objects.filter(pk=grant.pk).update(reversed_at=timezone.now())
    return True


@transaction.atomic
def checkin_boost_apply(
    *, user_id: int, days: int, multiplier: Decimal, idempotency_key: str, reference: str = ""
) -> PrivilegeDelivery:
    """Multiply the member's daily check-in points by ``multiplier`` for ``days`` × 24 hours.

    Starts now, or when the member's running and queued boosts end (boosts don't stack: two
    7-day cards make 14 days). Raises InvalidCheckinPrivilegeError (days < 1, multiplier ≤ 1).
    Locks: the points account. Safe to call twice: the same key returns the first boost.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_BOOST_DAYS:
        raise InvalidCheckinPrivilegeError()
    if not isinstance(multiplier, Decimal) or not multiplier.is_finite() or multiplier <= 1:
        raise InvalidCheckinPrivilegeError()
    points_services.account_lock(user_id=user_id)
    existing = CheckinBoost.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return PrivilegeDelivery(existing.idempotency_key, existing.starts_at, existing.ends_at)
    now = timezone.now()
    queued_until = CheckinBoost.objects.filter(member_id=user_id, reversed_at__isnull=True, ends_at__gt=now).aggregate(
        until=Max("ends_at")
    )["until"]
    starts_at, ends_at = clock.queued_window(now=now, busy_until=queued_until, days=days)
    boost = CheckinBoost.objects.create(
        member_id=user_id,
        multiplier=multiplier,
        starts_at=starts_at,
        ends_at=ends_at,
        idempotency_key=idempotency_key,
        reference=reference[:120],
        created_at=now,
    )
    return PrivilegeDelivery(boost.idempotency_key, boost.starts_at, boost.ends_at)


@transaction.atomic
def checkin_boost_reverse(*, user_id: int, idempotency_key: str) -> bool:
    """Take back a boost no check-in has used yet (whether or not its window has begun).

    Returns True when taken back (or already, or no such boost), False when a check-in was
    paid with it. Boosts queued after it keep their windows. Locks: the points account, then
    the boost. Safe to call twice.
    """
    points_services.account_lock(user_id=user_id)
    boost = CheckinBoost.objects.select_for_update().filter(idempotency_key=idempotency_key, member_id=user_id).first()
    if boost is None or boost.reversed_at is not None:
        return True
    if Checkin.objects.filter(boost=boost).exists():
        return False
    CheckinBoost.objects.filter(pk=boost.pk).update(reversed_at=timezone.now())
    return True


# --- Reminders ------------------------------------------------------------------------------


@transaction.atomic
def checkin_reminder_set(*, user_id: int, enabled: bool, hour: int) -> None:
    """Switch the member's daily check-in reminder on or off, at ``hour`` (0..23, business time).

    Raises InvalidReminderError. Locks the member's reminder row. Safe to call twice.
    """
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise InvalidReminderError()
    CheckinReminder.objects.update_or_create(member_id=user_id, defaults={"enabled": bool(enabled), "hour": hour})


def checkin_reminders_send(*, now: datetime | None = None) -> int:
    """Remind the members whose chosen hour is the current business hour, who have not checked
    in today and were not reminded today: an inbox message each. Returns how many were sent.

    One short transaction per member (a guarded update of ``last_sent_on`` with the message),
    so two runs at once, or a run twice in the same hour, send each member one message.
    """
    now = now or timezone.now()
    local = clock.business_time(now)
    today = local.date()
    due = (
        CheckinReminder.objects.filter(enabled=True, hour=local.hour)
        .filter(Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=today))
        .exclude(member__checkins__day=today)
        .values_list("pk", "member_id")
        .order_by("pk")
    )
    sent = 0
    for pk, member_id in due:
        with transaction.atomic():
            claimed = (
                CheckinReminder.objects.filter(pk=pk, enabled=True)
                .filter(Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=today))
                .update(last_sent_on=today)
            )
            if not claimed:
                continue
            accounts_services.notification_send(
                user_id=member_id,
                kind=NotificationKind.ACTIVITY,
                **notices.reminder(when=today).message,
                link=reverse("checkin"),
                dedupe_key=f"checkin-reminder:{today.isoformat()}",
            )
            sent += 1
    return sent


# --- Default rules --------------------------------------------------------------------------


@transaction.atomic
def checkin_rules_seed() -> None:
    """Put the policy row (its defaults), the default streak table and cycle bonuses in place when
    their tables are empty (a fresh mall; the demo seeding calls it). Writes nothing once operators
    have rows. Safe to call twice."""
    if CheckinPolicy.objects.filter(pk=SINGLETON_PK).first() is None:
        CheckinPolicy(pk=SINGLETON_PK).save()
    if not StreakReward.objects.exists():
        StreakReward.objects.bulk_create([StreakReward(day=d, points=p) for d, p in DEFAULT_STREAK_TABLE.items()])
    if not CycleBonus.objects.exists():
        CycleBonus.objects.bulk_create([CycleBonus(days=d, points=p) for d, p in DEFAULT_CYCLE_BONUSES.items()])
    # bulk_create sends no save signal, so the check-in page's cached rules (docs/decisions/0048)
    # are retired here rather than by pointsmall.wiring's receivers.
    fragments.generation_bump(RULES_GENERATION)
