"""A new task is announced once to the members who can see it (issue #12, "Events"): the beat job
``tasks.announce`` (``manage.py tasks_announce``) fans one "activity" inbox message out."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import translation

from accounts.enums import NotificationKind
from accounts.models import Notification
from points import services as points_services
from tasks import jobs, services
from tasks.models import Task
from tests.factories import MemberFactory
from tests.tasks.task_helpers import T0, make_task

CODE = "tasks.task_available"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def members(db):
    return [MemberFactory(), MemberFactory()]


def announced(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, message_code=CODE).order_by("pk"))


def read(message: Notification, language: str = "en") -> tuple[str, str]:
    with translation.override(language):
        text = message.text()
    return text.title, text.body


def test_a_new_task_is_announced_to_every_member_once(members):
    task = make_task(title="填写问卷", title_en="Fill in the survey", reward_points=50)

    assert services.tasks_announce() == 2
    for member in members:
        [message] = announced(member)
        assert message.kind == NotificationKind.ACTIVITY
        assert message.transactional is False
        assert message.link == f"/tasks/#task-{task.pk}"
        assert message.dedupe_key == f"tasks.available:{task.pk}"
        assert read(message) == (
            "New task: Fill in the survey",
            "Complete it to earn 50 points. Open your tasks to start.",
        )
        assert "填写问卷" in read(message, "zh-hans")[0]
    task.refresh_from_db()
    assert task.announced_at == T0

    # The job again (a retry, the next run): nothing more.
    assert services.tasks_announce() == 0
    assert jobs.tasks_announce() == 0
    assert all(len(announced(member)) == 1 for member in members)


def test_a_task_that_starts_later_is_announced_when_it_starts(members, clock):
    task = make_task(starts_at=T0 + timedelta(hours=2))
    assert services.tasks_announce() == 0
    assert announced(members[0]) == []

    clock.shift(timedelta(hours=2))
    out = io.StringIO()
    call_command("tasks_announce", stdout=out)
    assert "Sent 2 new-task messages." in out.getvalue()
    assert len(announced(members[0])) == 1
    task.refresh_from_db()
    assert task.announced_at == T0 + timedelta(hours=2)


def test_inactive_and_ended_tasks_are_not_announced(members, clock):
    inactive = make_task(active=False)
    ended = make_task(starts_at=T0 - timedelta(days=2), ends_at=T0 - timedelta(days=1))
    assert services.tasks_announce() == 0
    assert Notification.objects.filter(message_code=CODE).count() == 0
    assert Task.objects.filter(pk__in=[inactive.pk, ended.pk], announced_at__isnull=False).count() == 0

    # Published later: announced then.
    Task.objects.filter(pk=inactive.pk).update(active=True)
    assert services.tasks_announce() == 2


def test_a_task_for_some_tiers_is_announced_only_to_their_members(db):
    regular = MemberFactory()
    gold = MemberFactory()
    # 5,000 earned points qualify for Gold.
    points_services.points_earn(user_id=gold.pk, amount=5000, idempotency_key="gold")
    task = make_task(tier_codes=["gold", "diamond"])

    assert services.tasks_announce() == 1
    assert announced(regular) == []
    assert [m.link for m in announced(gold)] == [f"/tasks/#task-{task.pk}"]


def test_announcing_one_task_twice_sends_once(members):
    task = make_task()
    assert services.task_announce(task_id=task.pk) == 2
    assert services.task_announce(task_id=task.pk) == 0
    assert Notification.objects.filter(message_code=CODE).count() == 2


def test_an_unknown_task_announces_nothing(members):
    assert services.task_announce(task_id=999_999) == 0
    assert Notification.objects.filter(message_code=CODE).count() == 0


def test_the_admin_shows_when_a_task_was_announced(admin_client, settings):
    settings.ADMIN_REQUIRE_MFA = False
    task = make_task()
    services.tasks_announce()
    page = admin_client.get(f"/admin/tasks/task/{task.pk}/change/")
    assert page.status_code == 200
    assert "field-announced_at" in page.content.decode()
