"""Task services: starting, pausing, resuming, cancelling and restarting; events counted once;
rewards claimed once per period; undo before and after the claim; tiers and windows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from accounts import services as accounts_services
from points import services as points_services
from points.models import Entry
from tasks import services
from tasks.enums import TaskEvent
from tasks.exceptions import TaskNotCompletedError, TaskNotFoundError, TaskTransitionError
from tasks.models import TaskEventReceipt, TaskProgress
from tests.factories import MemberFactory
from tests.tasks.task_helpers import T0, counts, make_task, state, task_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def member(db):
    return MemberFactory()


def friends_task(**fields):
    values = {
        "title": "邀请三位好友",
        "title_en": "Invite three friends",
        "event": TaskEvent.FRIEND_SIGNED_UP,
        "target": 3,
    }
    return make_task(**{**values, **fields})


def record(member, reference: str, event=TaskEvent.FRIEND_SIGNED_UP, **extra) -> list[int]:
    return services.task_event_record(user_id=member.pk, event=event, reference=reference, **extra)


def test_an_event_on_an_available_task_starts_it_and_counts_one_step(member, clock):
    task = friends_task()
    assert record(member, "referral:1") == []
    assert state(member, task) == ("in_progress", 1)


def test_the_same_event_twice_is_one_step_and_one_reward(member, clock):
    task = make_task()  # set a PIN, target 1
    assert record(member, "accounts.pin", TaskEvent.PIN_SET) == [task.pk]
    assert record(member, "accounts.pin", TaskEvent.PIN_SET) == []
    assert state(member, task) == ("completed", 1)
    assert TaskEventReceipt.objects.count() == 1

    result = services.task_claim(user_id=member.pk, task_id=task.pk)

    assert (result.granted, result.replayed) == (30, False)
    assert record(member, "accounts.pin", TaskEvent.PIN_SET) == []
    assert task_entries(member) == [("earn", "task", 30, 0)]
    assert state(member, task) == ("claimed", 1)


def test_counting_events_complete_the_task_at_its_target(member, clock):
    task = friends_task()
    record(member, "referral:1")
    record(member, "referral:1")  # repeated: still one
    record(member, "referral:2")
    assert state(member, task) == ("in_progress", 2)
    assert record(member, "referral:3") == [task.pk]
    assert state(member, task) == ("completed", 3)
    assert record(member, "referral:4") == []  # nothing left to do
    assert state(member, task) == ("completed", 3)


def test_claiming_twice_writes_one_entry(member, clock):
    task = make_task()
    record(member, "accounts.pin", TaskEvent.PIN_SET)
    services.task_claim(user_id=member.pk, task_id=task.pk)
    before = counts()
    with pytest.raises(TaskTransitionError):
        services.task_claim(user_id=member.pk, task_id=task.pk)
    assert counts() == before
    assert task_entries(member) == [("earn", "task", 30, 0)]


def test_a_task_not_completed_cannot_be_claimed(member, clock):
    task = friends_task()
    with pytest.raises(TaskNotCompletedError):
        services.task_claim(user_id=member.pk, task_id=task.pk)
    record(member, "referral:1")
    before = counts()
    with pytest.raises(TaskNotCompletedError):
        services.task_claim(user_id=member.pk, task_id=task.pk)
    assert counts() == before


def test_pause_ignores_events_and_resume_keeps_the_progress(member, clock):
    task = friends_task()
    assert services.task_start(user_id=member.pk, task_id=task.pk) == "in_progress"
    record(member, "referral:1")
    services.task_pause(user_id=member.pk, task_id=task.pk)
    assert record(member, "referral:2") == []
    assert state(member, task) == ("paused", 1)
    assert TaskEventReceipt.objects.count() == 1
    services.task_resume(user_id=member.pk, task_id=task.pk)
    record(member, "referral:2")
    assert state(member, task) == ("in_progress", 2)


@pytest.mark.parametrize(
    ("moves", "refused"),
    [
        (["start", "start"], "start"),
        (["resume"], "resume"),
        (["pause"], "pause"),
        (["start", "resume"], "resume"),
        (["start", "pause", "pause"], "pause"),
        (["cancel"], "cancel"),
        (["start", "cancel", "cancel"], "cancel"),
        (["start", "cancel", "pause"], "pause"),
        (["start", "cancel", "start"], "start"),
        (["start", "cancel", "restart"], "restart"),  # not restartable
    ],
)
def test_transitions_the_table_refuses_write_nothing(member, clock, moves, refused):
    task = friends_task()
    functions = {
        "start": services.task_start,
        "pause": services.task_pause,
        "resume": services.task_resume,
        "cancel": services.task_cancel,
        "restart": services.task_restart,
    }
    for move in moves[:-1]:
        functions[move](user_id=member.pk, task_id=task.pk)
    before = (counts(), state(member, task))
    with pytest.raises(TaskTransitionError) as error:
        functions[moves[-1]](user_id=member.pk, task_id=task.pk)
    assert error.value.code == "task_transition_not_allowed"
    assert refused in error.value.message
    assert (counts(), state(member, task)) == before


def test_a_cancelled_task_ignores_events(member, clock):
    task = friends_task()
    services.task_start(user_id=member.pk, task_id=task.pk)
    services.task_cancel(user_id=member.pk, task_id=task.pk)
    assert record(member, "referral:1") == []
    assert state(member, task) == ("cancelled", 0)


def test_a_restartable_one_off_restarts_from_zero_and_old_events_do_not_count_again(member, clock):
    task = friends_task(restartable=True)
    record(member, "referral:1")
    record(member, "referral:2")
    services.task_pause(user_id=member.pk, task_id=task.pk)
    services.task_cancel(user_id=member.pk, task_id=task.pk)
    assert services.task_restart(user_id=member.pk, task_id=task.pk) == "in_progress"
    assert state(member, task) == ("in_progress", 0)
    record(member, "referral:1")
    assert state(member, task) == ("in_progress", 0)
    record(member, "referral:3")
    assert state(member, task) == ("in_progress", 1)


def test_a_cancelled_daily_task_stays_cancelled_today_and_is_available_tomorrow(member, clock):
    task = friends_task(kind="daily", target=1, restartable=True)
    services.task_start(user_id=member.pk, task_id=task.pk)
    services.task_cancel(user_id=member.pk, task_id=task.pk)
    with pytest.raises(TaskTransitionError):
        services.task_restart(user_id=member.pk, task_id=task.pk)
    assert record(member, "referral:1") == []
    clock.move_to(T0 + timedelta(days=1))
    assert record(member, "referral:2") == [task.pk]
    assert list(TaskProgress.objects.order_by("pk").values_list("period_key", "status")) == [
        ("2026-12-09", "cancelled"),
        ("2026-12-10", "completed"),
    ]


def test_a_daily_task_pays_once_a_day(member, clock):
    task = friends_task(kind="daily", target=1)
    record(member, "referral:1")
    services.task_claim(user_id=member.pk, task_id=task.pk)
    record(member, "referral:2")  # claimed today: nothing more
    clock.move_to(T0 + timedelta(days=1))
    record(member, "referral:2")
    services.task_claim(user_id=member.pk, task_id=task.pk)
    assert task_entries(member) == [("earn", "task", 30, 0), ("earn", "task", 30, 0)]
    assert sorted(Entry.objects.filter(source="task").values_list("idempotency_key", flat=True)) == [
        f"task:{task.pk}:2026-12-09:{member.pk}",
        f"task:{task.pk}:2026-12-10:{member.pk}",
    ]


def test_a_weekly_task_runs_from_monday(member, clock):
    task = friends_task(kind="weekly", target=2)
    record(member, "referral:1")  # Wednesday
    clock.move_to(T0 + timedelta(days=4))  # Sunday, same week
    record(member, "referral:2")
    assert state(member, task) == ("completed", 2)
    clock.move_to(T0 + timedelta(days=5))  # Monday: a new run
    record(member, "referral:3")
    assert list(TaskProgress.objects.order_by("pk").values_list("period_key", "status", "progress")) == [
        ("2026-12-07", "completed", 2),
        ("2026-12-14", "in_progress", 1),
    ]


def test_undo_before_the_claim_takes_the_step_back_and_nothing_is_paid(member, clock):
    task = make_task(event=TaskEvent.REVIEW_POSTED)
    record(member, "catalog.review:1", TaskEvent.REVIEW_POSTED)
    assert (
        services.task_event_undo(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="catalog.review:1") == []
    )
    assert state(member, task) == ("in_progress", 0)
    with pytest.raises(TaskNotCompletedError):
        services.task_claim(user_id=member.pk, task_id=task.pk)
    # Undone twice: nothing more happens.
    assert (
        services.task_event_undo(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="catalog.review:1") == []
    )
    assert state(member, task) == ("in_progress", 0)
    # Redone: it counts again and pays once.
    record(member, "catalog.review:1", TaskEvent.REVIEW_POSTED)
    services.task_claim(user_id=member.pk, task_id=task.pk)
    assert task_entries(member) == [("earn", "task", 30, 0)]


def test_undo_after_the_claim_takes_the_reward_back_and_a_redo_never_pays_again(member, clock):
    task = make_task(event=TaskEvent.REVIEW_POSTED)
    record(member, "catalog.review:1", TaskEvent.REVIEW_POSTED)
    services.task_claim(user_id=member.pk, task_id=task.pk)
    assert services.task_event_undo(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="catalog.review:1") == [
        task.pk
    ]
    assert task_entries(member) == [("earn", "task", 30, 0), ("reverse", "task", -30, 0)]
    assert state(member, task) == ("claimed", 0)
    record(member, "catalog.review:1", TaskEvent.REVIEW_POSTED)
    record(member, "catalog.review:2", TaskEvent.REVIEW_POSTED)
    with pytest.raises(TaskTransitionError):
        services.task_claim(user_id=member.pk, task_id=task.pk)
    assert len(task_entries(member)) == 2
    assert points_services.points_verify().ok


def test_a_state_already_true_completes_the_task_when_it_starts(member, clock):
    accounts_services.pin_set(user_id=member.pk, pin="258014")  # before the task exists
    task = make_task()
    assert services.task_start(user_id=member.pk, task_id=task.pk) == "completed"
    services.task_claim(user_id=member.pk, task_id=task.pk)
    assert task_entries(member) == [("earn", "task", 30, 0)]


def test_another_tiers_task_is_invisible_and_ignores_events(member, clock):
    task = make_task(tier_codes=["gold", "diamond"])
    before = counts()
    with pytest.raises(TaskNotFoundError):
        services.task_start(user_id=member.pk, task_id=task.pk)
    assert record(member, "accounts.pin", TaskEvent.PIN_SET) == []
    assert counts() == before


def test_a_task_for_the_members_tier_is_visible(member, clock):
    task = make_task(tier_codes=["regular"])
    assert services.task_start(user_id=member.pk, task_id=task.pk) == "in_progress"


@pytest.mark.parametrize(
    "window",
    [
        {"starts_at": T0 + timedelta(hours=1)},
        {"ends_at": T0},
        {"starts_at": T0 - timedelta(days=2), "ends_at": T0 - timedelta(days=1)},
        {"active": False},
    ],
)
def test_a_task_outside_its_window_or_inactive_is_invisible(member, clock, window):
    task = make_task(**window)
    before = counts()
    with pytest.raises(TaskNotFoundError):
        services.task_start(user_id=member.pk, task_id=task.pk)
    assert record(member, "accounts.pin", TaskEvent.PIN_SET) == []
    assert counts() == before


def test_a_completed_task_may_be_claimed_after_its_window_ends(member, clock):
    task = make_task(ends_at=T0 + timedelta(hours=1))
    record(member, "accounts.pin", TaskEvent.PIN_SET)
    clock.move_to(T0 + timedelta(hours=2))
    assert services.task_claim(user_id=member.pk, task_id=task.pk).granted == 30


def test_a_streak_event_keeps_the_highest_streak(member, clock):
    task = make_task(event=TaskEvent.CHECKIN_STREAK, target=7)
    for day, streak in ((1, 1), (2, 2), (3, 3)):
        record(member, f"tasks.checkin:2026-12-0{day}", TaskEvent.CHECKIN_STREAK, value=streak)
    record(member, "tasks.checkin:2026-12-04", TaskEvent.CHECKIN_STREAK, value=1)  # broken
    assert state(member, task) == ("in_progress", 3)
    assert record(member, "tasks.checkin:2026-12-05", TaskEvent.CHECKIN_STREAK, value=9) == [task.pk]
    assert state(member, task) == ("completed", 7)


def test_the_reward_follows_the_tier_multiplier(clock):
    from tests.catalog.factories import make_gold_member

    gold = make_gold_member()
    task = make_task()
    record(gold, "accounts.pin", TaskEvent.PIN_SET)
    assert services.task_claim(user_id=gold.pk, task_id=task.pk).granted == 36  # 30 × 1.2


def test_visit_rewards_are_capped_by_the_share_rules_daily_cap(member, clock):
    first = make_task(title="分享", completion="visit", visit_url="/mall/", reward_points=80)
    second = make_task(title="阅读公告", completion="visit", visit_url="https://example.com/news", reward_points=80)
    assert services.task_visit(user_id=member.pk, task_id=first.pk) == "/mall/"
    assert services.task_visit(user_id=member.pk, task_id=second.pk) == "https://example.com/news"
    assert services.task_claim(user_id=member.pk, task_id=first.pk).granted == 80
    result = services.task_claim(user_id=member.pk, task_id=second.pk)
    assert (result.granted, result.requested) == (20, 80)  # the share rule pays at most 100 a day
    assert result.message
    assert task_entries(member) == [("earn", "share", 80, 0), ("earn", "share", 20, 0)]
    # The next day the cap has room again, but each visit task paid once.
    clock.move_to(T0 + timedelta(days=1))
    services.task_visit(user_id=member.pk, task_id=first.pk)
    with pytest.raises(TaskTransitionError):
        services.task_claim(user_id=member.pk, task_id=first.pk)


def test_a_second_visit_changes_nothing(member, clock):
    task = make_task(completion="visit", visit_url="/mall/")
    services.task_visit(user_id=member.pk, task_id=task.pk)
    services.task_claim(user_id=member.pk, task_id=task.pk)
    before = (counts(), state(member, task))
    assert services.task_visit(user_id=member.pk, task_id=task.pk) == "/mall/"
    assert (counts(), state(member, task)) == before


def test_events_of_one_member_do_not_move_anothers_tasks(member, clock):
    other = MemberFactory()
    task = make_task()
    record(member, "accounts.pin", TaskEvent.PIN_SET)
    assert state(other, task) is None
    with pytest.raises(TaskNotCompletedError):
        services.task_claim(user_id=other.pk, task_id=task.pk)
