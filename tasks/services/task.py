"""Tasks and surveys: a member starts, pauses, resumes, cancels and restarts tasks; events,
survey answers and visits complete them; the member claims the reward.

Lock order everywhere: the member's points account (points.services.account_lock), then the
member's TaskProgress rows. Rewards move only through points.services, once per member, task
and period (the ledger's idempotency key ``task:<task>:<period>:<member>``), whatever events
repeat or are undone and redone. See docs/decisions/0025-tasks.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors as accounts_selectors
from points import services as points_services
from points.enums import EarningSource
from points.services import AwardResult
from pointsmall.kernel import clock
from tasks.enums import TaskEvent
from tasks.exceptions import (
    SurveyAlreadySubmittedError,
    SurveyAnswerInvalidError,
    SurveyAnswerMissingError,
    SurveyAnswerTooLongError,
    TaskNotCompletedError,
    TaskNotFoundError,
    TaskTransitionError,
    TaskWrongCompletionError,
)
from tasks.models import (
    SurveyResponse,
    Task,
    TaskCompletion,
    TaskEventReceipt,
    TaskProgress,
    TaskStatus,
)
from tasks.notices import task as notices
from tasks.rules import task as rules
from tasks.selectors.task import has_event_tasks, period_of, question_views, visible_task, visible_tasks

__all__ = [
    "reward_key",
    "survey_submit",
    "task_cancel",
    "task_claim",
    "task_event_record",
    "task_event_undo",
    "task_pause",
    "task_restart",
    "task_resume",
    "task_start",
    "task_visit",
]

REWARD_SOURCES = {
    TaskCompletion.EVENT: EarningSource.TASK,
    TaskCompletion.SURVEY: EarningSource.SURVEY,
    TaskCompletion.VISIT: EarningSource.SHARE,
}


def reward_key(*, task_id: int, period_key: str, user_id: int) -> str:
    """The ledger idempotency key of a task's reward: one per member, task and period."""
    return f"task:{task_id}:{period_key}:{user_id}"


def _locked_row(user_id: int, task: Task, key: str) -> TaskProgress | None:
    return TaskProgress.objects.select_for_update().filter(member_id=user_id, task=task, period_key=key).first()


def _status(row: TaskProgress | None) -> str:
    return row.status if row is not None else rules.AVAILABLE


def _refuse(action: rules.Action) -> TaskTransitionError:
    return TaskTransitionError(action=rules.label(action))


def _fact_holds(user_id: int, event: str) -> bool:
    """Whether a state event ("has a PIN") is already true for the member."""
    if event not in rules.STATE_EVENTS:
        return False
    facts = accounts_selectors.member_facts(user_id=user_id)
    holds: dict[str, bool] = {
        TaskEvent.PROFILE_COMPLETED: facts.profile_complete,
        TaskEvent.PIN_SET: facts.pin_set,
        TaskEvent.ADDRESS_ADDED: facts.has_address,
    }
    return holds.get(event, False)


def _complete(row: TaskProgress, now: datetime, *, progress: int | None = None) -> None:
    row.status = TaskStatus.COMPLETED
    row.progress = row.task.target if progress is None else progress
    row.completed_at = now
    row.save(update_fields=["status", "progress", "completed_at", "updated_at"])


def _new_row(user_id: int, task: Task, key: str, now: datetime) -> TaskProgress:
    """The period's progress row, created in progress. The member's points account is locked,
    so no other request of the same member can create it in between."""
    try:
        with transaction.atomic():
            return TaskProgress.objects.create(
                member_id=user_id, task=task, period_key=key, status=TaskStatus.IN_PROGRESS, started_at=now
            )
    except IntegrityError:  # only without the account lock (a direct caller): read the winner
        row = _locked_row(user_id, task, key)
        assert row is not None
        return row


def _complete_if_fact(user_id: int, task: Task, row: TaskProgress, now: datetime) -> None:
    if task.completion == TaskCompletion.EVENT and task.target == 1 and _fact_holds(user_id, task.event):
        _complete(row, now)


@transaction.atomic
def task_start(*, user_id: int, task_id: int, now: datetime | None = None) -> str:
    """Start an available task for this period; returns the new status ("in_progress", or
    "completed" when what it asks is already true: a PIN is set, a profile complete).

    Raises TaskNotFoundError (not visible to the member now) or TaskTransitionError (already
    started in this period). Locks the points account, then the progress row. Not idempotent:
    a second call raises TaskTransitionError and changes nothing.
    """
    now = now or timezone.now()
    points_services.account_lock(user_id=user_id)
    task = visible_task(user_id=user_id, task_id=task_id, now=now)
    key = period_of(task, now)
    row = _locked_row(user_id, task, key)
    if not rules.allows(rules.Action.START, _status(row), kind=task.kind, restartable=task.restartable):
        raise _refuse(rules.Action.START)
    row = _new_row(user_id, task, key, now)
    _complete_if_fact(user_id, task, row, now)
    return row.status


def _move(*, user_id: int, task_id: int, action: rules.Action, now: datetime | None) -> TaskProgress:
    now = now or timezone.now()
    points_services.account_lock(user_id=user_id)
    task = visible_task(user_id=user_id, task_id=task_id, now=now)
    row = _locked_row(user_id, task, period_of(task, now))
    if row is None or not rules.allows(action, row.status, kind=task.kind, restartable=task.restartable):
        raise _refuse(action)
    row.status = rules.target(action)
    row.save(update_fields=["status", "updated_at"])
    return row


@transaction.atomic
def task_pause(*, user_id: int, task_id: int, now: datetime | None = None) -> None:
    """Pause a task in progress: events are ignored until it is resumed. Raises TaskNotFoundError,
    TaskTransitionError. Locks the points account, then the row. A second call raises."""
    _move(user_id=user_id, task_id=task_id, action=rules.Action.PAUSE, now=now)


@transaction.atomic
def task_resume(*, user_id: int, task_id: int, now: datetime | None = None) -> None:
    """Resume a paused task (its progress kept). Raises TaskNotFoundError, TaskTransitionError.
    Locks the points account, then the row. A second call raises."""
    _move(user_id=user_id, task_id=task_id, action=rules.Action.RESUME, now=now)


@transaction.atomic
def task_cancel(*, user_id: int, task_id: int, now: datetime | None = None) -> None:
    """Cancel a task in progress or paused. A daily or weekly task stays cancelled for this
    period; a one-off can be restarted only if the operator allows it. Raises TaskNotFoundError,
    TaskTransitionError. Locks the points account, then the row. A second call raises."""
    _move(user_id=user_id, task_id=task_id, action=rules.Action.CANCEL, now=now)


@transaction.atomic
def task_restart(*, user_id: int, task_id: int, now: datetime | None = None) -> str:
    """Restart a cancelled one-off task the operator made restartable, from zero progress
    (events it already counted do not count again). Returns the new status. Raises
    TaskNotFoundError, TaskTransitionError. Locks the points account, then the row."""
    now = now or timezone.now()
    row = _move(user_id=user_id, task_id=task_id, action=rules.Action.RESTART, now=now)
    row.progress = 0
    row.started_at = now
    row.save(update_fields=["progress", "started_at", "updated_at"])
    _complete_if_fact(user_id, row.task, row, now)
    return row.status


@transaction.atomic
def task_event_record(
    *,
    user_id: int,
    event: str,
    reference: str,
    value: int | None = None,
    available_at: datetime | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Something the member did (``event``, a TaskEvent) progresses their visible event tasks
    for it: available ones start, in-progress ones advance; paused, cancelled, completed and
    claimed ones ignore it. ``reference`` names the cause ("catalog.order:7"): the same
    reference counts once per task run. ``value``: the level reached for a level event (the
    check-in streak, counted only inside a daily or weekly task's period:
    rules.streak_in_period of the business day of ``now``). ``available_at``: the reward stays
    pending until then (a redemption's returns window). Returns the ids of the tasks it completed.

    Called by receivers inside the emitting service's transaction. Locks the points account,
    then the progress rows in task order. Safe to call twice (the receipt makes it one step).
    """
    now = now or timezone.now()
    if event not in TaskEvent.values:
        return []
    reference = reference[:100]
    if not has_event_tasks(event=event):
        return []
    tasks = list(
        visible_tasks(user_id=user_id, now=now).filter(completion=TaskCompletion.EVENT, event=event).order_by("pk")
    )
    if not tasks:
        return []
    points_services.account_lock(user_id=user_id)
    completed: list[int] = []
    for task in tasks:
        key = period_of(task, now)
        row = _locked_row(user_id, task, key)
        if not rules.accepts_events(_status(row)):
            continue
        if row is None:
            row = _new_row(user_id, task, key, now)
        receipt = TaskEventReceipt.objects.filter(progress=row, reference=reference).first()
        if receipt is not None and receipt.undone_at is None:
            continue
        if receipt is None:
            TaskEventReceipt.objects.create(progress=row, reference=reference, created_at=now)
        else:  # undone, now redone: it counts again (the reward, if paid before, is never paid twice)
            TaskEventReceipt.objects.filter(pk=receipt.pk).update(undone_at=None)
        level = value
        if event in rules.LEVEL_EVENTS and value is not None:
            level = rules.streak_in_period(kind=task.kind, streak=value, day=clock.business_date(now))
        row.progress = min(task.target, rules.progress_after(event, row.progress, level))
        if available_at is not None and available_at > now:
            row.vests_at = max(row.vests_at or available_at, available_at)
        row.save(update_fields=["progress", "vests_at", "updated_at"])
        if row.progress >= task.target:
            _complete(row, now, progress=row.progress)
            completed.append(task.pk)
    return completed


@transaction.atomic
def task_event_undo(*, user_id: int, event: str, reference: str) -> list[int]:
    """The cause ``reference`` of an ``event`` was undone (an order cancelled, a review removed):
    every task run it counted in takes that step back. A completed task returns to in progress;
    a claimed one keeps its status (it is never paid again in this period) and its reward is
    taken back (pending points cancelled, available ones reversed: docs/decisions/0006).
    Returns the ids of the tasks whose reward was taken back.

    Locks the points account, then the progress rows in pk order. Safe to call twice.
    """
    now = timezone.now()
    receipts = list(
        TaskEventReceipt.objects.filter(
            progress__member_id=user_id, progress__task__event=event, reference=reference[:100], undone_at__isnull=True
        ).values_list("pk", "progress_id")
    )
    if not receipts:
        return []
    points_services.account_lock(user_id=user_id)
    reversed_ids: list[int] = []
    rows = (
        TaskProgress.objects.select_for_update()
        .select_related("task")
        .filter(pk__in=[progress_id for _pk, progress_id in receipts])
    )
    for row in rows.order_by("pk"):
        if not TaskEventReceipt.objects.filter(progress=row, reference=reference[:100], undone_at__isnull=True).update(
            undone_at=now
        ):
            continue
        if event not in rules.LEVEL_EVENTS:
            row.progress = max(0, row.progress - 1)
        if row.status == TaskStatus.COMPLETED and row.progress < row.task.target:
            row.status = rules.target(rules.Action.UNDO)
            row.completed_at = None
        row.save(update_fields=["progress", "status", "completed_at", "updated_at"])
        if row.status == TaskStatus.CLAIMED and row.reward_entry_id and not row.reward_reversed:
            points_services.points_reverse(
                user_id=user_id,
                earn_entry_id=row.reward_entry_id,
                idempotency_key=f"{reward_key(task_id=row.task_id, period_key=row.period_key, user_id=user_id)}:undone",
                **notices.task_reward_reversed(task=row.task).memo,
            )
            TaskProgress.objects.filter(pk=row.pk).update(reward_reversed=True)
            reversed_ids.append(row.task_id)
    return reversed_ids


def _task_of(user_id: int, task_id: int, now: datetime, completion: str) -> Task:
    task = visible_task(user_id=user_id, task_id=task_id, now=now)
    if task.completion != completion:
        raise TaskWrongCompletionError()
    return task


@transaction.atomic
def task_visit(*, user_id: int, task_id: int, now: datetime | None = None) -> str:
    """The member follows a visit task's link: the task is completed (if it was available or in
    progress) and the URL to send them to is returned. Raises TaskNotFoundError,
    TaskWrongCompletionError. Locks the points account, then the row. Safe to call twice
    (the second visit changes nothing and returns the same URL)."""
    now = now or timezone.now()
    points_services.account_lock(user_id=user_id)
    task = _task_of(user_id, task_id, now, TaskCompletion.VISIT)
    key = period_of(task, now)
    row = _locked_row(user_id, task, key)
    if rules.accepts_events(_status(row)):
        _complete(row or _new_row(user_id, task, key, now), now)
    return task.visit_url


def _answer_error(problem: rules.AnswerProblem):
    """The refusal naming the question (``params["question_id"]``: where a form shows it)."""
    question, question_id = problem.question.text, problem.question.id
    if problem.reason == "missing":
        return SurveyAnswerMissingError(question=question, question_id=question_id)
    if problem.reason == "too_long":
        return SurveyAnswerTooLongError(question=question, limit=rules.TEXT_ANSWER_MAX, question_id=question_id)
    return SurveyAnswerInvalidError(question=question, question_id=question_id)


@transaction.atomic
def survey_submit(*, user_id: int, task_id: int, answers: Mapping[str, object], now: datetime | None = None) -> None:
    """Store the member's answers to a survey task and complete it.

    ``answers`` maps a question id (str) to the index of a choice (single), a list of indexes
    (multiple) or a text. A required question left unanswered, a choice that does not exist or
    a text over 500 characters refuses the whole set (SurveyAnswerMissingError naming the
    question, SurveyAnswerInvalidError, SurveyAnswerTooLongError) and writes nothing. Also raises
    TaskNotFoundError, TaskWrongCompletionError, SurveyAlreadySubmittedError (this period),
    TaskTransitionError (paused or cancelled). Locks the points account, then the row.
    """
    now = now or timezone.now()
    points_services.account_lock(user_id=user_id)
    task = _task_of(user_id, task_id, now, TaskCompletion.SURVEY)
    key = period_of(task, now)
    if SurveyResponse.objects.filter(member_id=user_id, task=task, period_key=key).exists():
        raise SurveyAlreadySubmittedError()
    row = _locked_row(user_id, task, key)
    if not rules.accepts_events(_status(row)):
        raise _refuse(rules.Action.COMPLETE)
    questions = [
        rules.Question(id=q.id, text=q.text, kind=q.kind, choice_count=len(q.choices), required=q.required)
        for q in question_views(task.pk)
    ]
    if not questions:
        raise TaskNotFoundError()
    cleaned, problem = rules.clean_answers(questions, answers)
    if problem is not None:
        raise _answer_error(problem)
    SurveyResponse.objects.create(member_id=user_id, task=task, period_key=key, answers=cleaned, submitted_at=now)
    _complete(row or _new_row(user_id, task, key, now), now)


@transaction.atomic
def task_claim(*, user_id: int, task_id: int, now: datetime | None = None) -> AwardResult:
    """Claim a completed task's reward for this period: ``reward_points`` through
    points.services.points_award (source TASK, SURVEY for surveys, SHARE for visits, so that
    source's tier multipliers, campaigns and caps apply; a capped reward says so in
    ``message``). Pending until the cause's returns window ends when it has one (a first
    redemption). The task may have left its window since it was completed (or claimed) in
    this period; otherwise a task outside its window is not found, as any hidden task is.
    The returned ``receipt.pending_amount`` > 0 says the points are pending (until the row's
    ``vests_at``: tasks.selectors.reward_vests_on).

    Raises TaskNotFoundError (not visible, or outside its window with nothing completed in
    this period), TaskNotCompletedError (nothing to claim), TaskTransitionError
    (claimed already). Locks the points account, then the row. Paid once per member, task and
    period whatever happens (the ledger key replays).
    """
    now = now or timezone.now()
    points_services.account_lock(user_id=user_id)
    task = visible_task(user_id=user_id, task_id=task_id, now=now, window=False)
    key = period_of(task, now)
    row = _locked_row(user_id, task, key)
    status = _status(row)
    if status not in (TaskStatus.COMPLETED, TaskStatus.CLAIMED) and not rules.in_window(
        task.starts_at, task.ends_at, now
    ):
        raise TaskNotFoundError()
    if row is None or not rules.allows(rules.Action.CLAIM, status):
        if status == TaskStatus.CLAIMED:
            raise _refuse(rules.Action.CLAIM)
        raise TaskNotCompletedError()
    result = points_services.points_award(
        user_id=user_id,
        source=REWARD_SOURCES[TaskCompletion(task.completion)],
        idempotency_key=reward_key(task_id=task.pk, period_key=key, user_id=user_id),
        base_points=task.reward_points,
        reference=f"tasks.task:{task.pk}",
        available_at=row.vests_at if row.vests_at is not None and row.vests_at > now else None,
        now=now,
        **notices.task_reward(task=task).memo,
    )
    row.status = TaskStatus.CLAIMED
    row.claimed_at = now
    row.reward_entry_id = result.receipt.entry_id if result.receipt is not None else None
    row.reward_points = result.granted
    row.save(update_fields=["status", "claimed_at", "reward_entry_id", "reward_points", "updated_at"])
    return result
