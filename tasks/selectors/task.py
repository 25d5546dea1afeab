"""Reads of tasks and surveys: a member's task list with what they may do, a survey's questions.

What may be done is asked of the one transition table (tasks.rules.task.allows), never decided
here or in templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from points import selectors as points_selectors
from pointsmall.kernel import clock
from pointsmall.kernel.language import pick_language
from tasks.exceptions import TaskNotFoundError
from tasks.models import QuestionKind, SurveyQuestion, Task, TaskCompletion, TaskKind, TaskProgress, TaskStatus
from tasks.rules import task as rules

__all__ = [
    "QuestionView",
    "SurveyView",
    "TaskCard",
    "TaskGroup",
    "has_event_tasks",
    "period_of",
    "reward_vests_on",
    "survey_view",
    "task_card",
    "task_list",
    "visible_task",
    "visible_tasks",
]


def _member_tier_code(user_id: int) -> str | None:
    tier = points_selectors.member_tier(user_id=user_id)
    return tier.code if tier is not None else None


def visible_tasks(*, user_id: int, now: datetime, window: bool = True) -> QuerySet[Task]:
    """The active tasks this member may see now: inside their window (unless ``window=False``)
    and meant for the member's tier. Tier targeting is read once per call."""
    tasks = Task.objects.filter(active=True)
    if window:
        tasks = tasks.filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now)).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )
    tier = _member_tier_code(user_id)
    # tier_codes is a JSON list: filtered in Python so it works on every database backend.
    allowed = [t.pk for t in tasks.only("pk", "tier_codes") if rules.tier_allowed(t.tier_codes, tier)]
    return Task.objects.filter(pk__in=allowed).order_by("position", "pk")


def visible_task(*, user_id: int, task_id: int, now: datetime, window: bool = True) -> Task:
    """One task this member may see now. Raises TaskNotFoundError (404) for anything else."""
    task = visible_tasks(user_id=user_id, now=now, window=window).filter(pk=task_id).first()
    if task is None:
        raise TaskNotFoundError()
    return task


def has_event_tasks(*, event: str) -> bool:
    """Whether any active task is completed by ``event`` (a receiver skips costly work if not)."""
    return Task.objects.filter(active=True, completion=TaskCompletion.EVENT, event=event).exists()


def period_of(task: Task, now: datetime) -> str:
    return rules.period_key(task.kind, clock.business_date(now))


@dataclass(frozen=True)
class TaskCard:
    id: int
    title: str
    description: str
    reward_points: int
    kind: str
    kind_label: str
    completion: str
    status: str  # rules.AVAILABLE or a TaskStatus value
    status_label: str
    progress: int
    target: int
    shows_progress: bool  # a count or streak worth showing as "3/7"
    actions: tuple[str, ...]  # what the member may do now: start, pause, resume, cancel, restart, visit, answer, claim
    reward_granted: int
    ends_at: datetime | None
    reward_reversed: bool = False  # claimed, then taken back (its cause was undone)
    reward_available_on: date | None = None  # claimed and pending: the business day it can be spent from


@dataclass(frozen=True)
class TaskGroup:
    kind: str
    label: str
    cards: tuple[TaskCard, ...]


def _status_label(status: str, *, reversed_: bool = False, pending: bool = False) -> str:
    if status == rules.AVAILABLE:
        return _("Available")
    if status == TaskStatus.CLAIMED and reversed_:
        return _("Reward taken back")
    if status == TaskStatus.CLAIMED and pending:
        return _("Reward on its way")
    return str(TaskStatus(status).label)


def _available_on(row: TaskProgress | None, now: datetime) -> date | None:
    """The business day a claimed, pending reward can be spent from (None: not pending)."""
    if row is None or row.status != TaskStatus.CLAIMED or row.reward_reversed or not row.reward_points:
        return None
    if row.vests_at is None or row.vests_at <= now:
        return None
    return clock.business_date(row.vests_at)


def _actions(task: Task, status: str) -> tuple[str, ...]:
    actions: list[str] = []
    if task.completion == TaskCompletion.VISIT and rules.accepts_events(status):
        actions.append("visit")
    elif task.completion == TaskCompletion.SURVEY and rules.accepts_events(status):
        actions.append("answer")
    elif task.completion == TaskCompletion.EVENT and rules.allows(
        rules.Action.START, status, kind=task.kind, restartable=task.restartable
    ):
        actions.append("start")
    for action in (rules.Action.CLAIM, rules.Action.RESUME, rules.Action.PAUSE, rules.Action.CANCEL):
        if rules.allows(action, status, kind=task.kind, restartable=task.restartable):
            actions.append(str(action))
    if rules.allows(rules.Action.RESTART, status, kind=task.kind, restartable=task.restartable):
        actions.append("restart")
    return tuple(actions)


def _card(task: Task, row: TaskProgress | None, now: datetime) -> TaskCard:
    status = row.status if row is not None else rules.AVAILABLE
    reversed_ = row is not None and row.status == TaskStatus.CLAIMED and row.reward_reversed
    available_on = _available_on(row, now)
    return TaskCard(
        id=task.pk,
        title=task.display_title,
        description=task.display_description,
        reward_points=task.reward_points,
        kind=task.kind,
        kind_label=str(TaskKind(task.kind).label),
        completion=task.completion,
        status=status,
        status_label=_status_label(status, reversed_=reversed_, pending=available_on is not None),
        progress=row.progress if row is not None else 0,
        target=task.target,
        shows_progress=task.completion == TaskCompletion.EVENT and task.target > 1,
        actions=_actions(task, status),
        reward_granted=row.reward_points if row is not None else 0,
        ends_at=task.ends_at,
        reward_reversed=reversed_,
        reward_available_on=available_on,
    )


_NO_TIER = object()


def task_list(*, user_id: int, now: datetime | None = None, tier_code: object = _NO_TIER) -> list[TaskGroup]:
    """The member's tasks for the current periods, grouped daily, weekly, one-off (empty groups
    left out). Two queries (the tasks, the member's progress), plus the tier read unless the
    caller passes ``tier_code`` (the code of the tier the member enjoys now, or None without one:
    the page passes the one its header already read, ``accounts.selectors.viewer_status``)."""
    now = now or timezone.now()
    tier = _member_tier_code(user_id) if tier_code is _NO_TIER else cast("str | None", tier_code)
    # The same tasks as visible_tasks(), in one query: tier_codes filtered here in Python.
    tasks = [
        task
        for task in Task.objects.filter(active=True)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("position", "pk")
        if rules.tier_allowed(task.tier_codes, tier)
    ]
    keys = {task.pk: period_of(task, now) for task in tasks}
    rows = {
        (row.task_id, row.period_key): row
        for row in TaskProgress.objects.filter(member_id=user_id, task_id__in=list(keys))
        .filter(period_key__in=set(keys.values()))
        .only(
            "task_id", "period_key", "status", "progress", "reward_points", "reward_reversed", "vests_at", "claimed_at"
        )
    }
    groups = []
    for kind in (TaskKind.DAILY, TaskKind.WEEKLY, TaskKind.ONE_OFF):
        cards = tuple(_card(t, rows.get((t.pk, keys[t.pk])), now) for t in tasks if t.kind == kind)
        if cards:
            groups.append(TaskGroup(kind=kind, label=str(kind.label), cards=cards))
    return groups


def task_card(*, user_id: int, task_id: int, now: datetime | None = None) -> TaskCard:
    """One card of the member's list (an htmx swap after an action). Raises TaskNotFoundError."""
    now = now or timezone.now()
    task = visible_task(user_id=user_id, task_id=task_id, now=now)
    row = TaskProgress.objects.filter(member_id=user_id, task=task, period_key=period_of(task, now)).first()
    return _card(task, row, now)


def reward_vests_on(*, user_id: int, task_id: int, now: datetime | None = None) -> date | None:
    """The business day from which the member's claimed reward of this task for the current
    period can be spent, when it is pending (None: available already, not claimed, taken back)."""
    now = now or timezone.now()
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        return None
    row = TaskProgress.objects.filter(member_id=user_id, task=task, period_key=period_of(task, now)).first()
    return _available_on(row, now)


@dataclass(frozen=True)
class QuestionView:
    id: int
    text: str
    kind: str
    choices: tuple[str, ...]  # in the reader's language, by index
    required: bool


@dataclass(frozen=True)
class SurveyView:
    task_id: int
    title: str
    description: str
    reward_points: int
    status: str
    questions: tuple[QuestionView, ...]


def choice_text(choice: object) -> str:
    if isinstance(choice, dict):
        return str(pick_language(zh=choice.get("zh", ""), en=choice.get("en", ""), fallback=True))
    return str(choice)


def question_views(task_id: int) -> tuple[QuestionView, ...]:
    return tuple(
        QuestionView(
            id=q.pk,
            text=q.display_text,
            kind=q.kind,
            choices=tuple(choice_text(c) for c in (q.choices or [])) if q.kind != QuestionKind.TEXT else (),
            required=q.required,
        )
        for q in SurveyQuestion.objects.filter(task_id=task_id).order_by("position", "pk")
    )


def survey_view(*, user_id: int, task_id: int, now: datetime | None = None) -> SurveyView:
    """A survey task the member may see, with its questions in the reader's language.
    Raises TaskNotFoundError for anything else (another tier's, a task that is no survey)."""
    now = now or timezone.now()
    task = visible_task(user_id=user_id, task_id=task_id, now=now)
    if task.completion != TaskCompletion.SURVEY:
        raise TaskNotFoundError()
    row = TaskProgress.objects.filter(member_id=user_id, task=task, period_key=period_of(task, now)).first()
    return SurveyView(
        task_id=task.pk,
        title=task.display_title,
        description=task.display_description,
        reward_points=task.reward_points,
        status=row.status if row is not None else rules.AVAILABLE,
        questions=question_views(task.pk),
    )
