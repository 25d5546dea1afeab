"""Stored texts of tasks and surveys: the history rows of task rewards and of their claw-back,
rendered in the reader's language when read (points.notices, docs/decisions/0019)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from points.notices import Notice, Params, Text, bilingual, localized, register

TASK_REWARD = "tasks.task_reward"
TASK_REWARD_REVERSED = "tasks.task_reward_reversed"
TASK_AVAILABLE = "tasks.task_available"


def _task_name(task) -> dict:
    return bilingual(zh=task.title, en=task.title_en or task.title)


def task_reward(*, task) -> Notice:
    """History text of a task's (survey's, visit's) reward: "Task: <title>"."""
    return Notice(TASK_REWARD, {"task": _task_name(task)})


def task_reward_reversed(*, task) -> Notice:
    """History text of a reward taken back because what earned it was undone."""
    return Notice(TASK_REWARD_REVERSED, {"task": _task_name(task)})


@register(TASK_REWARD)
def _task_reward(params: Params) -> str:
    return _("Task: %(task)s") % {"task": localized(params["task"])}


@register(TASK_REWARD_REVERSED)
def _task_reward_reversed(params: Params) -> str:
    return _("Task reward taken back (its cause was undone): %(task)s") % {"task": localized(params["task"])}


def task_available(*, task) -> Notice:
    """Inbox: a new task is available, with its reward (before tier multipliers and caps)."""
    return Notice(TASK_AVAILABLE, {"task": _task_name(task), "points": task.reward_points})


@register(
    TASK_AVAILABLE, inbox=True, sample={"task": {"zh": "完善个人资料", "en": "Complete your profile"}, "points": 20}
)
def _task_available(params: Params) -> Text:
    points = int(params["points"])
    return Text(
        _("New task: %(task)s") % {"task": localized(params["task"])},
        ngettext(
            "Complete it to earn %(points)s point. Open your tasks to start.",
            "Complete it to earn %(points)s points. Open your tasks to start.",
            points,
        )
        % {"points": points},
    )
