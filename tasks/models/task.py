"""Tasks (任务) and surveys: what operators define, and each member's progress through them.

``Task`` and ``SurveyQuestion`` are operator rows (admin). ``TaskProgress`` is one member's
run of one task in one period (``period_key``: "once", a business date, or a week's Monday);
no row means "available". ``TaskEventReceipt`` makes the same event (same reference) count
once. ``SurveyResponse`` holds a member's answers. Only ``tasks.services`` writes them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points import selectors as points_selectors
from pointsmall.kernel.language import pick_language
from tasks.enums import TaskEvent
from tasks.rules import task as rules

__all__ = [
    "QuestionKind",
    "SurveyQuestion",
    "SurveyResponse",
    "Task",
    "TaskCompletion",
    "TaskEventReceipt",
    "TaskKind",
    "TaskProgress",
    "TaskStatus",
]


class TaskKind(models.TextChoices):
    ONE_OFF = "one_off", _("One-off")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class TaskCompletion(models.TextChoices):
    EVENT = "event", _("By event (something the member does)")
    SURVEY = "survey", _("By answering a survey")
    VISIT = "visit", _("By visiting a page or link")


class TaskStatus(models.TextChoices):
    # "available" is the absence of a row for the period (tasks.rules.task.AVAILABLE).
    IN_PROGRESS = "in_progress", _("In progress")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    CLAIMED = "claimed", _("Reward claimed")
    CANCELLED = "cancelled", _("Cancelled")


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("One choice")
    MULTIPLE = "multiple", _("Several choices")
    TEXT = "text", _("Free text")


def validate_visit_url(value: str) -> None:
    """A path inside the mall ("/announcements/3/") or an https URL; nothing else (no javascript:)."""
    if not rules.visit_url_ok(value):
        raise ValidationError(_("Enter a path in the mall (starting with /) or an https:// address."))


class Task(models.Model):
    title = models.CharField(_("title"), max_length=80, help_text=_("As members read it in Chinese."))
    title_en = models.CharField(
        _("title (English)"),
        max_length=80,
        blank=True,
        help_text=_("As members read it in English; empty: the title above."),
    )
    description = models.TextField(_("description"), max_length=1000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=1000, blank=True)
    reward_points = models.PositiveIntegerField(
        _("reward points"), validators=[MinValueValidator(1)], help_text=_("Before tier multipliers and caps.")
    )
    kind = models.CharField(_("repeats"), max_length=10, choices=TaskKind, default=TaskKind.ONE_OFF)
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    tier_codes = models.JSONField(
        _("tiers"), default=list, blank=True, help_text=_("Only members of these tiers see it; none: everyone.")
    )
    completion = models.CharField(
        _("completed by"), max_length=10, choices=TaskCompletion, default=TaskCompletion.EVENT
    )
    event = models.CharField(_("event"), max_length=24, choices=TaskEvent.choices, blank=True)
    target = models.PositiveIntegerField(
        _("target"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How many times the event must happen (days in a row for a check-in streak)."),
    )
    visit_url = models.CharField(_("page or link"), max_length=300, blank=True, validators=[validate_visit_url])
    restartable = models.BooleanField(
        _("may be restarted"), default=False, help_text=_("Whether a member may restart a cancelled one-off task.")
    )
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    # When members were told it is available (tasks.services.announce); set once, never cleared.
    announced_at = models.DateTimeField(_("announced"), null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ("position", "pk")
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.CheckConstraint(condition=models.Q(reward_points__gte=1), name="task_reward_positive"),
            models.CheckConstraint(condition=models.Q(target__gte=1), name="task_target_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = rules.task_definition_errors(
            completion=self.completion,
            event=self.event,
            visit_url=self.visit_url,
            kind=self.kind,
            target=self.target,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            tier_codes=self.tier_codes,
            known_tiers={t.code for t in points_selectors.tier_ladder()},
        )
        if errors:
            raise ValidationError({field: [message] for field, message in errors.items()})

    @property
    def display_title(self) -> str:
        return pick_language(zh=self.title, en=self.title_en, fallback=True)

    @property
    def display_description(self) -> str:
        return pick_language(zh=self.description, en=self.description_en, fallback=True)


class SurveyQuestion(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="questions", verbose_name=_("task"))
    position = models.PositiveIntegerField(_("position"), default=0)
    text = models.CharField(_("question"), max_length=200)
    text_en = models.CharField(_("question (English)"), max_length=200, blank=True)
    kind = models.CharField(_("answer"), max_length=10, choices=QuestionKind, default=QuestionKind.SINGLE)
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_('A list: ["Yes", "No"] or [{"zh": "是", "en": "Yes"}, …]. Empty for free text.'),
    )
    required = models.BooleanField(_("required"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ("position", "pk")
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        message = rules.question_choices_error(kind=self.kind, choices=self.choices)
        if message:
            raise ValidationError({"choices": [message]})

    @property
    def display_text(self) -> str:
        return pick_language(zh=self.text, en=self.text_en, fallback=True)


class TaskProgress(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_progress", verbose_name=_("member")
    )
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="progress", verbose_name=_("task"))
    period_key = models.CharField(_("period"), max_length=10)
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus)
    progress = models.PositiveIntegerField(_("progress"), default=0)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    vests_at = models.DateTimeField(
        _("reward vests"), null=True, blank=True, help_text=_("The reward stays pending until then (returns window).")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    reward_entry_id = models.BigIntegerField(_("reward ledger entry"), null=True, blank=True)
    reward_points = models.PositiveIntegerField(_("points granted"), default=0)
    reward_reversed = models.BooleanField(_("reward taken back"), default=False)

    class Meta:
        verbose_name = _("task progress")
        verbose_name_plural = _("task progress")
        constraints = [
            models.UniqueConstraint(fields=["member", "task", "period_key"], name="task_progress_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} · {self.task_id} · {self.period_key}"


class TaskEventReceipt(models.Model):
    progress = models.ForeignKey(TaskProgress, on_delete=models.CASCADE, related_name="receipts")
    reference = models.CharField(_("reference"), max_length=100)
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        constraints = [
            models.UniqueConstraint(fields=["progress", "reference"], name="task_event_once"),
        ]

    def __str__(self) -> str:
        return self.reference


class SurveyResponse(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_responses", verbose_name=_("member")
    )
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="responses", verbose_name=_("survey"))
    period_key = models.CharField(_("period"), max_length=10)
    answers = models.JSONField(_("answers"), default=dict)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.UniqueConstraint(fields=["member", "task", "period_key"], name="survey_response_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} · {self.task_id} · {self.period_key}"
