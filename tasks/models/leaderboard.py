"""The points leaderboard: its policy, who is left out, the refreshed standings, monthly prizes.

``LeaderboardStanding`` is a snapshot rebuilt every few minutes from the ledger by
``tasks.services.leaderboard_refresh``; the page reads only the snapshot. Prizes are paid from
standings computed afresh from the ledger, once per member and month (``LeaderboardPayout``).
docs/decisions/0026.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pointsmall.kernel.singleton import SingletonModel

__all__ = [
    "Board",
    "LeaderboardExclusion",
    "LeaderboardPayout",
    "LeaderboardPolicy",
    "LeaderboardPrize",
    "LeaderboardStanding",
]

MAX_BOARD_SIZE = 200
MAX_PRIZE_RANK = 1000
MAX_PRIZE_POINTS = 1_000_000


class Board(models.TextChoices):
    WEEK = "week", _("This week")
    MONTH = "month", _("This month")
    ALL = "all", _("All time")


class LeaderboardPolicy(SingletonModel):
    """How the leaderboard is shown and whether monthly prizes are paid (one row, pk=1).

    Until an operator saves it, the field defaults apply (pointsmall.kernel.singleton).
    """

    size = models.PositiveSmallIntegerField(
        _("members shown"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_BOARD_SIZE)],
        # format_lazy: the text is translated when shown, not frozen in the language active at import.
        help_text=format_lazy(_("How many members the top list shows, 1 to {max}."), max=MAX_BOARD_SIZE),
    )
    exclude_staff = models.BooleanField(
        _("leave out staff"), default=True, help_text=_("Staff and superuser accounts are not ranked.")
    )
    monthly_rewards = models.BooleanField(
        _("pay monthly prizes"),
        default=False,
        help_text=_("On the 1st, members placed in a prize band of last month's board get its points."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("leaderboard policy")
        verbose_name_plural = _("leaderboard policy")

    def __str__(self) -> str:
        return str(_("Leaderboard policy"))


class LeaderboardExclusion(models.Model):
    """A member an operator keeps off the leaderboard (and its prizes), with the reason."""

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("member")
    )
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("added by"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("leaderboard exclusion")
        verbose_name_plural = _("leaderboard exclusions")

    def __str__(self) -> str:
        return str(self.member)


class LeaderboardStanding(models.Model):
    """One member's place on one board in the latest snapshot (every ranked member, not just the top)."""

    board = models.CharField(_("board"), max_length=8, choices=Board)
    # The business date the period starts; the all-time board uses rules.ALL_TIME_START.
    period_start = models.DateField(_("period starts"))
    rank = models.PositiveIntegerField(_("rank"))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("member")
    )
    points = models.BigIntegerField(_("points earned"))
    refreshed_at = models.DateTimeField(_("refreshed"))

    class Meta:
        verbose_name = _("leaderboard standing")
        verbose_name_plural = _("leaderboard standings")
        constraints = [
            models.UniqueConstraint(fields=["board", "period_start", "member"], name="tasks_standing_one_per_member"),
        ]
        indexes = [models.Index(fields=["board", "period_start", "rank"], name="tasks_standing_board_rank")]

    def __str__(self) -> str:
        return f"{self.board} {self.period_start} #{self.rank}"


class LeaderboardPrize(models.Model):
    """Points for the members placed ``rank_from`` to ``rank_to`` (inclusive) on a month's board."""

    rank_from = models.PositiveIntegerField(
        _("from rank"), validators=[MinValueValidator(1), MaxValueValidator(MAX_PRIZE_RANK)]
    )
    rank_to = models.PositiveIntegerField(
        _("to rank"), validators=[MinValueValidator(1), MaxValueValidator(MAX_PRIZE_RANK)]
    )
    points = models.PositiveIntegerField(
        _("points"), validators=[MinValueValidator(1), MaxValueValidator(MAX_PRIZE_POINTS)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("monthly leaderboard prize")
        verbose_name_plural = _("monthly leaderboard prizes")
        ordering = ["rank_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rank_from__gte=1, rank_from__lte=F("rank_to")),
                name="tasks_prize_ranks_in_order",
                violation_error_message=_("The first rank must be at least 1 and not after the last rank."),
            ),
            models.CheckConstraint(
                condition=Q(points__gte=1),
                name="tasks_prize_points_positive",
                violation_error_message=_("A prize is at least 1 point."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank_from}–{self.rank_to}: {self.points}"


class LeaderboardPayout(models.Model):
    """A monthly prize paid to a member: one per member and month, whatever runs the job."""

    month = models.DateField(_("month"), help_text=_("The first day of the month the board covers."))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("member")
    )
    rank = models.PositiveIntegerField(_("rank"))
    points = models.PositiveIntegerField(_("points"))
    entry_id = models.BigIntegerField(_("ledger entry"))
    created_at = models.DateTimeField(_("paid"), default=timezone.now)

    class Meta:
        verbose_name = _("monthly leaderboard payout")
        verbose_name_plural = _("monthly leaderboard payouts")
        constraints = [models.UniqueConstraint(fields=["month", "member"], name="tasks_payout_once_per_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} #{self.rank} {self.member}"
