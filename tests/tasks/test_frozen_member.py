"""A member whose points account is frozen gets no check-in or task reward (docs/decisions/0055)."""

from __future__ import annotations

import pytest
import time_machine

from points import services as points_services
from points.exceptions import AccountFrozenError
from tasks import services
from tasks.enums import TaskEvent
from tasks.models import Checkin
from tests.factories import StaffFactory
from tests.tasks import checkin_support
from tests.tasks.task_helpers import T0 as TASK_T0
from tests.tasks.task_helpers import counts, make_task, state, task_entries


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(db):
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


@pytest.fixture
def operator(db):
    return StaffFactory()


def test_a_frozen_member_s_check_in_is_refused_and_nothing_is_written(operator):
    member = checkin_support.joined_member()
    points_services.points_account_freeze(user_id=member.pk, actor_id=operator.pk, reason="Scripted check-ins")
    with time_machine.travel(checkin_support.T0, tick=False):
        with pytest.raises(AccountFrozenError, match=r"^Your points account is frozen"):
            services.checkin_record(user_id=member.pk)
        assert (Checkin.objects.count(), checkin_support.entries(member)) == (0, [])

        points_services.points_account_unfreeze(user_id=member.pk, actor_id=operator.pk, reason="Cleared")
        assert services.checkin_record(user_id=member.pk).points == 5
    assert checkin_support.balance(member) == 5


def test_a_frozen_member_s_task_reward_is_refused_and_nothing_is_written(member, operator):
    with time_machine.travel(TASK_T0, tick=False):
        task = make_task()  # set a PIN, 30 points
        services.task_event_record(user_id=member.pk, event=TaskEvent.PIN_SET, reference="accounts.pin")
        points_services.points_account_freeze(user_id=member.pk, actor_id=operator.pk, reason="Review")
        before = counts()
        with pytest.raises(AccountFrozenError):
            services.task_claim(user_id=member.pk, task_id=task.pk)
        assert counts() == before
        assert state(member, task) == ("completed", 1)

        points_services.points_account_unfreeze(user_id=member.pk, actor_id=operator.pk, reason="Cleared")
        services.task_claim(user_id=member.pk, task_id=task.pk)
    assert task_entries(member) == [("earn", "task", 30, 0)]
