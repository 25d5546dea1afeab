"""Daily check-in (签到): the policy, the streak and cycle-bonus tables, check-ins, make-up cards,
check-in boosts and reminders. Only ``tasks.services.checkin`` writes them (docs/decisions/0024)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pointsmall.kernel.singleton import SingletonModel

__all__ = [
    "MAX_CYCLE_DAYS",
    "MAX_MAKEUP_LIMIT",
    "MAX_MAKEUP_PRICE",
    "MAX_STREAK_DAY",
    "MAX_TABLE_POINTS",
    "Checkin",
    "CheckinBoost",
    "CheckinCycle",
    "CheckinKind",
    "CheckinPaidWith",
    "CheckinPolicy",
    "CheckinReminder",
    "CycleBonus",
    "MakeupCardGrant",
    "StreakAfterTable",
    "StreakReset",
    "StreakReward",
]

MAX_STREAK_DAY = 366
MAX_CYCLE_DAYS = 31
MAX_TABLE_POINTS = 100_000
MAX_MAKEUP_PRICE = 100_000
MAX_MAKEUP_LIMIT = 31


class CheckinCycle(models.TextChoices):
    WEEKLY = "weekly", _("Weekly (Monday to Sunday)")
    MONTHLY = "monthly", _("Monthly (calendar month)")


class StreakReset(models.TextChoices):
    MISSED_DAY = "missed_day", _("Only when a day is missed")
    CYCLE = "cycle", _("Also at the start of each cycle")


class StreakAfterTable(models.TextChoices):
    KEEP_LAST = "keep_last", _("Keep paying the last row's points")
    REPEAT = "repeat", _("Start the table again")


class CheckinKind(models.TextChoices):
    REGULAR = "regular", _("Check-in")
    MAKEUP = "makeup", _("Make-up check-in")


class CheckinPaidWith(models.TextChoices):
    NONE = "none", _("Nothing")
    POINTS = "points", _("Points")
    CARD = "card", _("Make-up card")


class CheckinPolicy(SingletonModel):
    """How check-in works: the cycle, how streaks restart, make-ups. One row (pk=1), edited in admin.

    The base amount of a check-in is not here: it is the ledger's earning rule for ``checkin``.
    """

    cycle = models.CharField(_("cycle"), max_length=8, choices=CheckinCycle, default=CheckinCycle.MONTHLY)
    streak_reset = models.CharField(
        _("streak restarts"), max_length=12, choices=StreakReset, default=StreakReset.MISSED_DAY
    )
    after_table = models.CharField(
        _("after the streak table's last day"),
        max_length=12,
        choices=StreakAfterTable,
        default=StreakAfterTable.KEEP_LAST,
    )
    makeup_enabled = models.BooleanField(_("make-up check-ins allowed"), default=True)
    makeup_price = models.PositiveIntegerField(
        _("make-up price (points)"), default=20, validators=[MaxValueValidator(MAX_MAKEUP_PRICE)]
    )
    makeup_limit = models.PositiveSmallIntegerField(
        _("make-ups per cycle"), default=2, validators=[MaxValueValidator(MAX_MAKEUP_LIMIT)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("check-in policy")
        verbose_name_plural = _("check-in policy")

    def __str__(self) -> str:
        return str(_("Check-in policy"))


class StreakReward(models.Model):
    """Day ``day`` of a streak pays ``points`` instead of the base amount (e.g. day 7 → 10)."""

    day = models.PositiveSmallIntegerField(
        _("day of the streak"), unique=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_STREAK_DAY)]
    )
    points = models.PositiveIntegerField(
        _("points"), validators=[MinValueValidator(1), MaxValueValidator(MAX_TABLE_POINTS)]
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["day"]
        verbose_name = _("streak reward")
        verbose_name_plural = _("streak rewards")
        constraints = [
            models.CheckConstraint(condition=Q(day__gte=1), name="tasks_streak_day_positive"),
            models.CheckConstraint(condition=Q(points__gte=1), name="tasks_streak_points_positive"),
        ]

    def __str__(self) -> str:
        return str(_("Day %(day)s: %(points)s points") % {"day": self.day, "points": self.points})


class CycleBonus(models.Model):
    """Reaching ``days`` check-ins within one cycle pays ``points`` once in that cycle."""

    days = models.PositiveSmallIntegerField(
        _("check-ins in the cycle"),
        unique=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CYCLE_DAYS)],
    )
    points = models.PositiveIntegerField(
        _("points"), validators=[MinValueValidator(1), MaxValueValidator(MAX_TABLE_POINTS)]
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["days"]
        verbose_name = _("cumulative check-in bonus")
        verbose_name_plural = _("cumulative check-in bonuses")
        constraints = [
            models.CheckConstraint(
                condition=Q(days__gte=1) & Q(days__lte=MAX_CYCLE_DAYS), name="tasks_cycle_bonus_days_range"
            ),
            models.CheckConstraint(condition=Q(points__gte=1), name="tasks_cycle_bonus_points_positive"),
        ]

    def __str__(self) -> str:
        return str(_("%(days)s days: %(points)s points") % {"days": self.days, "points": self.points})


class MakeupCardGrant(models.Model):
    """Make-up cards a member got (a privilege order): ``quantity`` cards, ``used`` of them spent."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="makeup_card_grants", verbose_name=_("member")
    )
    quantity = models.PositiveSmallIntegerField(_("cards"))
    used = models.PositiveSmallIntegerField(_("used"), default=0)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    reversed_at = models.DateTimeField(_("taken back at"), null=True, blank=True)
    created_at = models.DateTimeField(_("granted at"))

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("make-up card grant")
        verbose_name_plural = _("make-up card grants")
        constraints = [
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(used__lte=F("quantity")), name="tasks_makeup_card_used_in_range"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="tasks_makeup_card_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.used}/{self.quantity}"


class CheckinBoost(models.Model):
    """Check-in points × ``multiplier`` from ``starts_at`` to ``ends_at`` (a privilege order)."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkin_boosts", verbose_name=_("member")
    )
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    reversed_at = models.DateTimeField(_("taken back at"), null=True, blank=True)
    created_at = models.DateTimeField(_("granted at"))

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("check-in boost")
        verbose_name_plural = _("check-in boosts")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="tasks_boost_window"),
            models.CheckConstraint(condition=Q(multiplier__gt=Decimal(1)), name="tasks_boost_multiplier_above_one"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: ×{self.multiplier}"


class Checkin(models.Model):
    """One member's check-in of one business day (``TIME_ZONE``): at most one per member and day.

    ``streak`` is the streak ending on that day (a later make-up that fills a gap before it
    recomputes it); ``points`` and ``bonus_points`` are what the ledger granted, never changed.
    """

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkins", verbose_name=_("member")
    )
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=8, choices=CheckinKind, default=CheckinKind.REGULAR)
    paid_with = models.CharField(_("paid with"), max_length=8, choices=CheckinPaidWith, default=CheckinPaidWith.NONE)
    price = models.PositiveIntegerField(_("price paid (points)"), default=0)
    streak = models.PositiveIntegerField(_("streak"))
    points = models.PositiveIntegerField(_("points"), default=0)
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    boost = models.ForeignKey(
        CheckinBoost,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkins",
        verbose_name=_("boost"),
    )
    card = models.ForeignKey(
        MakeupCardGrant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkins",
        verbose_name=_("make-up card"),
    )
    created_at = models.DateTimeField(_("checked in at"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            models.UniqueConstraint(fields=["member", "day"], name="tasks_checkin_one_per_day"),
            models.CheckConstraint(condition=Q(streak__gte=1), name="tasks_checkin_streak_positive"),
        ]
        indexes = [models.Index(fields=["day"], name="tasks_checkin_day")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.day.isoformat()}"


class CheckinReminder(models.Model):
    """A member's opt-in daily reminder: an inbox message at ``hour`` (business time) if not checked in."""

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkin_reminder", verbose_name=_("member")
    )
    enabled = models.BooleanField(_("enabled"), default=False)
    hour = models.PositiveSmallIntegerField(_("hour"), default=20, validators=[MaxValueValidator(23)])
    last_sent_on = models.DateField(_("last sent on"), null=True, blank=True)

    class Meta:
        verbose_name = _("check-in reminder")
        verbose_name_plural = _("check-in reminders")
        constraints = [models.CheckConstraint(condition=Q(hour__lte=23), name="tasks_reminder_hour_range")]
        indexes = [models.Index(fields=["enabled", "hour"], name="tasks_reminder_due")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.hour:02d}:00"
