"""Tasks under real concurrency (Postgres, threads): the same event, the same claim and a
start racing a pause all serialise on the member's points account."""

from __future__ import annotations

import pytest

from points import services as points_services
from tasks import services
from tasks.enums import TaskEvent
from tasks.models import TaskEventReceipt, TaskProgress
from tests.concurrency import outcome_counts, run_together
from tests.factories import MemberFactory
from tests.tasks.task_helpers import make_task, task_entries

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_event_sent_eight_times_at_once_is_one_step():
    member = MemberFactory()
    task = make_task(event=TaskEvent.FRIEND_SIGNED_UP, target=3)
    calls = [
        lambda: services.task_event_record(user_id=member.pk, event=TaskEvent.FRIEND_SIGNED_UP, reference="referral:1")
        for _ in range(8)
    ]
    results = run_together(calls)
    assert outcome_counts(results) == {"list": 8}
    assert list(TaskProgress.objects.values_list("task_id", "status", "progress")) == [(task.pk, "in_progress", 1)]
    assert TaskEventReceipt.objects.count() == 1


def test_a_claim_sent_eight_times_at_once_pays_once():
    member = MemberFactory()
    task = make_task()
    services.task_event_record(user_id=member.pk, event=TaskEvent.PIN_SET, reference="accounts.pin")
    results = run_together([lambda: services.task_claim(user_id=member.pk, task_id=task.pk) for _ in range(8)])
    assert outcome_counts(results) == {"AwardResult": 1, "TaskTransitionError": 7}
    assert task_entries(member) == [("earn", "task", 30, 0)]
    assert points_services.points_verify().ok


def test_different_events_at_once_each_count_once():
    member = MemberFactory()
    task = make_task(event=TaskEvent.FRIEND_SIGNED_UP, target=6)
    calls = [
        (lambda n=n: services.task_event_record(
            user_id=member.pk, event=TaskEvent.FRIEND_SIGNED_UP, reference=f"referral:{n % 4}"
        ))
        for n in range(8)
    ]  # fmt: skip
    run_together(calls)
    assert list(TaskProgress.objects.values_list("task_id", "progress")) == [(task.pk, 4)]
    assert TaskEventReceipt.objects.count() == 4
