"""Helpers of the task and survey tests: operator rows (tasks, questions) and ledger reads."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from points.models import Entry
from tasks.enums import TaskEvent
from tasks.models import SurveyQuestion, SurveyResponse, Task, TaskEventReceipt, TaskProgress

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI)  # a Wednesday


def make_task(**fields) -> Task:
    values = {
        "title": "设置支付密码",
        "title_en": "Set a payment PIN",
        "reward_points": 30,
        "kind": "one_off",
        "completion": "event",
        "event": TaskEvent.PIN_SET,
        "target": 1,
    }
    values.update(fields)
    if values["completion"] != "event":
        values["event"] = ""
    task = Task(**values)
    task.full_clean()
    task.save()
    return task


def make_survey(*, questions: int = 2, **fields) -> Task:
    task = make_task(
        title="满意度调查", title_en="Satisfaction survey", completion="survey", reward_points=20, **fields
    )
    for i in range(questions):
        SurveyQuestion.objects.create(
            task=task,
            position=i,
            text=f"问题{i + 1}",
            text_en=f"Question {i + 1}",
            kind="single",
            choices=[{"zh": "是", "en": "Yes"}, {"zh": "否", "en": "No"}],
        )
    return task


def task_entries(user) -> list[tuple[str, str, int, int]]:
    """(kind, source, amount, pending) of the member's task, survey and share ledger entries and
    of what took them back (a reverse entry's source is its earn's)."""
    rows = Entry.objects.filter(account__user_id=user.pk).order_by("pk").select_related("related_entry")
    return [
        (e.kind, e.source or (e.related_entry.source if e.related_entry else ""), e.amount, e.pending_amount)
        for e in rows
        if (e.source or (e.related_entry.source if e.related_entry else "")) in ("task", "survey", "share")
    ]


def all_entries(user) -> list[tuple[str, int, int]]:
    return list(
        Entry.objects.filter(account__user_id=user.pk).order_by("pk").values_list("kind", "amount", "pending_amount")
    )


def state(user, task) -> tuple[str, int] | None:
    """(status, progress) of the member's current row for ``task``; None when available."""
    row = TaskProgress.objects.filter(member=user, task=task).order_by("-pk").first()
    return (row.status, row.progress) if row else None


def counts() -> tuple[int, int, int, int]:
    return (
        TaskProgress.objects.count(),
        TaskEventReceipt.objects.count(),
        SurveyResponse.objects.count(),
        Entry.objects.count(),
    )
