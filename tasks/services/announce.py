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

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.enums import NotificationKind
from points import selectors as points_selectors
from tasks.models import Task
from tasks.notices import task as notices

__all__ = ["task_announce", "tasks_announce"]


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
        # The members the task is meant for (its tiers; every member when it names none), one query.
        user_ids=points_selectors.tier_member_ids(codes=task.tier_codes or None, now=now),
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
