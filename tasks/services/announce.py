"""New tasks announced to the members who can see them (issue #12, "Events").

A task is announced once, when it first becomes available: active, inside its window, not
announced before (an operator published it, or its start time came). The beat job
``tasks.announce`` (every 10 minutes; ``manage.py tasks_announce``) sends one inbox message of
the "activity" kind to every active member the task is meant for (its tiers, see
``tasks.selectors.visible_tasks``), through ``accounts.services.notifications_send_bulk``.
Tasks that existed before announcing did are marked announced by their migration.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.enums import NotificationKind
from points import selectors as points_selectors
from tasks.models import Task
from tasks.notices import task as notices
from tasks.rules import task as rules

__all__ = ["task_announce", "tasks_announce"]


def _audience(task: Task) -> list[int]:
    """The active members ``task`` is meant for. A task for some tiers asks each member's tier
    (two queries a member): fine for a mall's few targeted tasks; a bulk tier read would be the
    next step for a very large membership."""
    members = list(get_user_model().objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    if not task.tier_codes:
        return members
    audience = []
    for user_id in members:
        tier = points_selectors.member_tier(user_id=user_id)
        if rules.tier_allowed(task.tier_codes, tier.code if tier is not None else None):
            audience.append(user_id)
    return audience


def _available(now: datetime) -> Q:
    return (
        Q(active=True, announced_at__isnull=True)
        & (Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    )


@transaction.atomic
def task_announce(*, task_id: int, now: datetime | None = None) -> int:
    """Announce one task if it is available and was never announced; returns how many members
    were told (0: nothing to do). The claim (``announced_at``) and the messages commit together.
    Locks nothing: the claim is a guarded UPDATE, so of two concurrent runs one sends. Safe to
    call twice."""
    now = now or timezone.now()
    claimed = Task.objects.filter(_available(now), pk=task_id).update(announced_at=now)
    if not claimed:
        return 0
    task = Task.objects.get(pk=task_id)
    return accounts_services.notifications_send_bulk(
        user_ids=_audience(task),
        kind=NotificationKind.ACTIVITY,
        dedupe_key=f"tasks.available:{task.pk}",
        link=f"{reverse('task_list')}#task-{task.pk}",
        **notices.task_available(task=task).message,
    )


def tasks_announce(*, now: datetime | None = None) -> int:
    """Announce every task that became available since the last run; returns how many messages
    were sent. Each task is its own transaction. Safe to run twice and on several workers."""
    now = now or timezone.now()
    due = Task.objects.filter(_available(now)).order_by("pk").values_list("pk", flat=True)
    return sum(task_announce(task_id=task_id, now=now) for task_id in list(due))
