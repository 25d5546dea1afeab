"""Issue #10 of the tasks feature: once-events on repeating tasks, a taken-back reward's card,
survey refusals under their question, hidden tasks not claimable, pending rewards announced as
on their way, weekly streaks counted inside the week, duplicate choices, tier names in admin."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from points import selectors as points_selectors
from tasks import selectors, services
from tasks.admin.task import TaskForm
from tasks.enums import TaskEvent
from tasks.exceptions import TaskNotFoundError
from tasks.models import SurveyQuestion, Task
from tasks.rules import task as rules
from tests.factories import MemberFactory
from tests.tasks.task_helpers import T0, counts, make_survey, make_task, state, task_entries

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def member(db):
    return MemberFactory()


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def the_card(member, task):
    return next(c for g in selectors.task_list(user_id=member.pk) for c in g.cards if c.id == task.pk)


# 1. A once-per-member event on a repeating task, or with a target other than 1, is refused.

ONCE = ["profile_completed", "pin_set", "address_added", "first_redemption"]


@pytest.mark.parametrize("event", ONCE)
@pytest.mark.parametrize("kind", ["daily", "weekly"])
def test_a_repeating_task_on_a_once_event_is_refused(event, kind):
    with pytest.raises(ValidationError) as error:
        make_task(kind=kind, event=event)
    assert set(error.value.message_dict) == {"kind"}
    assert "once per member" in error.value.message_dict["kind"][0]
    assert Task.objects.count() == 0


@pytest.mark.parametrize("event", ONCE)
def test_a_once_event_with_a_target_other_than_one_is_refused(event):
    with pytest.raises(ValidationError) as error:
        make_task(event=event, target=2)
    assert error.value.message_dict == {"target": ["This event happens once per member: its target must be 1."]}
    assert Task.objects.count() == 0


@pytest.mark.parametrize("event", ["friend_signed_up", "review_posted", "checkin_streak"])
def test_repeatable_events_may_repeat_daily_or_weekly(event):
    make_task(kind="weekly", event=event, target=1)
    make_task(kind="daily", event=event, target=1)
    assert Task.objects.count() == 2


@pytest.mark.parametrize(("kind", "target"), [("daily", 2), ("weekly", 8)])
def test_a_streak_target_the_period_cannot_hold_is_refused(kind, target):
    with pytest.raises(ValidationError) as error:
        make_task(kind=kind, event=TaskEvent.CHECKIN_STREAK, target=target)
    assert set(error.value.message_dict) == {"target"}
    assert Task.objects.count() == 0


# 2. A claimed reward taken back is shown as taken back.


def test_a_reward_taken_back_is_shown_taken_back(member, member_client):
    task = make_task(kind="daily", event=TaskEvent.REVIEW_POSTED, title="写评价", title_en="Write a review")
    services.task_event_record(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="review:1")
    services.task_claim(user_id=member.pk, task_id=task.pk)
    assert the_card(member, task).status_label == "Reward claimed"
    services.task_event_undo(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="review:1")
    card = the_card(member, task)
    assert (card.status, card.status_label, card.reward_reversed) == ("claimed", "Reward taken back", True)
    html = member_client.get(reverse("task_list")).content.decode()
    assert "Reward taken back" in html
    assert "+30 earned" not in html
    assert "Reward claimed" not in html


# 3. Bad survey answers are refused under their question, saying what is wrong.


@pytest.mark.parametrize("value", ["9", "-1", "abc"])
def test_a_choice_that_does_not_exist_is_refused_under_its_question(member, member_client, value):
    task = make_survey()
    first, second = SurveyQuestion.objects.filter(task=task).order_by("position")
    before = counts()
    response = member_client.post(reverse("task_survey", args=[task.pk]), {str(first.pk): value, str(second.pk): "0"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'aria-describedby="q{first.pk}-error"' in html
    assert f'id="q{first.pk}-error"' in html
    assert "The answer to “Question 1” is not one of its choices." in html
    assert f'id="q{second.pk}-error"' not in html
    assert counts() == before


def test_a_text_answer_over_its_limit_is_refused_under_its_question(member, member_client):
    task = make_survey(questions=0)
    question = SurveyQuestion.objects.create(task=task, text="建议", text_en="Suggestions", kind="text", choices=[])
    before = counts()
    response = member_client.post(reverse("task_survey", args=[task.pk]), {str(question.pk): "x" * 501})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="q{question.pk}-error"' in html
    assert "The answer to “Suggestions” is too long (at most 500 characters)." in html
    assert counts() == before


def test_a_missing_required_answer_is_shown_under_its_question(member, member_client):
    task = make_survey()
    first, second = SurveyQuestion.objects.filter(task=task).order_by("position")
    before = counts()
    response = member_client.post(reverse("task_survey", args=[task.pk]), {str(first.pk): "0"})
    html = response.content.decode()
    assert f'id="q{second.pk}-error"' in html
    assert "Please answer the question “Question 2”." in html
    assert counts() == before


# 4. A task out of its window (or otherwise hidden) is not found when claimed.


@pytest.mark.parametrize(
    "fields", [{"ends_at": T0}, {"starts_at": T0 + timedelta(days=1)}, {"active": False}, {"tier_codes": ["gold"]}]
)
def test_claiming_a_hidden_task_is_not_found(member, member_client, fields):
    task = make_task(event=TaskEvent.REVIEW_POSTED, **fields)
    before = counts()
    with pytest.raises(TaskNotFoundError):
        services.task_claim(user_id=member.pk, task_id=task.pk)
    assert member_client.post(reverse("task_claim", args=[task.pk])).status_code == 404
    assert member_client.post(reverse("task_action", args=[task.pk, "start"])).status_code == 404
    assert member_client.get(reverse("task_survey", args=[task.pk])).status_code == 404
    assert counts() == before


def test_an_ended_task_in_progress_is_not_found_but_a_completed_one_is_claimable(member, clock):
    unfinished = make_task(event=TaskEvent.FRIEND_SIGNED_UP, target=2, ends_at=T0 + timedelta(hours=1))
    finished = make_task(event=TaskEvent.REVIEW_POSTED, ends_at=T0 + timedelta(hours=1))
    services.task_event_record(user_id=member.pk, event=TaskEvent.FRIEND_SIGNED_UP, reference="r:1")
    services.task_event_record(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="v:1")
    clock.move_to(T0 + timedelta(hours=2))
    before = counts()
    with pytest.raises(TaskNotFoundError):
        services.task_claim(user_id=member.pk, task_id=unfinished.pk)
    assert counts() == before
    assert state(member, unfinished) == ("in_progress", 1)
    assert services.task_claim(user_id=member.pk, task_id=finished.pk).granted == 30


# 5. A pending reward is announced as on its way, with the day it can be spent from.


def test_a_pending_reward_is_on_its_way(member, member_client):
    task = make_task(title="首次兑换", title_en="First redemption", event=TaskEvent.FIRST_REDEMPTION, reward_points=60)
    services.task_event_record(
        user_id=member.pk,
        event=TaskEvent.FIRST_REDEMPTION,
        reference="catalog.order:1",
        available_at=T0 + timedelta(days=7),
    )
    response = member_client.post(reverse("task_claim", args=[task.pk]), follow=True)
    assert messages_of(response) == ["Your 60 points are on their way: you can spend them from 2026-12-16."]
    assert task_entries(member) == [("earn", "task", 0, 60)]
    card = the_card(member, task)
    assert (card.status_label, card.reward_available_on) == ("Reward on its way", date(2026, 12, 16))
    html = response.content.decode()
    assert "+60 on the way · spendable from 2026-12-16" in html
    assert "+60 earned" not in html


def test_an_available_reward_is_earned(member, member_client):
    task = make_task(event=TaskEvent.REVIEW_POSTED)
    services.task_event_record(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="review:1")
    response = member_client.post(reverse("task_claim", args=[task.pk]), follow=True)
    assert messages_of(response) == ["You earned 30 points."]
    assert the_card(member, task).reward_available_on is None


# 6. A periodic streak task counts only the streak's days inside its period.


@pytest.mark.parametrize(
    ("kind", "streak", "day", "expected"),
    [
        ("weekly", 4, date(2026, 12, 8), 2),  # a Tuesday: Monday and Tuesday
        ("weekly", 1, date(2026, 12, 8), 1),
        ("weekly", 9, date(2026, 12, 13), 7),  # a Sunday
        ("weekly", 3, date(2026, 12, 13), 3),
        ("daily", 5, date(2026, 12, 8), 1),
        ("daily", 0, date(2026, 12, 8), 0),
        ("one_off", 12, date(2026, 12, 8), 12),
    ],
)
def test_streak_in_period(kind, streak, day, expected):
    assert rules.streak_in_period(kind=kind, streak=streak, day=day) == expected


def test_a_weekly_streak_task_counts_this_weeks_days_only(member, clock):
    task = make_task(kind="weekly", event=TaskEvent.CHECKIN_STREAK, target=7)
    # Wednesday: a 5-day streak began last Saturday; this week holds Monday to Wednesday.
    services.task_event_record(user_id=member.pk, event=TaskEvent.CHECKIN_STREAK, reference="c:1", value=5)
    assert state(member, task) == ("in_progress", 3)
    clock.move_to(T0 + timedelta(days=4))  # Sunday, the streak unbroken
    services.task_event_record(user_id=member.pk, event=TaskEvent.CHECKIN_STREAK, reference="c:5", value=9)
    assert state(member, task) == ("completed", 7)


def test_a_daily_streak_task_counts_today(member):
    task = make_task(kind="daily", event=TaskEvent.CHECKIN_STREAK, target=1)
    assert services.task_event_record(user_id=member.pk, event=TaskEvent.CHECKIN_STREAK, reference="c:1", value=5) == [
        task.pk
    ]
    assert state(member, task) == ("completed", 1)


# 7. A question's choices: no duplicates (in either language), no empty or non-text ones.


@pytest.mark.parametrize(
    "choices",
    [
        [{"zh": "a", "en": "a"}, {"zh": "a", "en": "a"}],
        [{"zh": "是", "en": "Yes"}, {"zh": "对", "en": "Yes"}],
        [{"zh": "是", "en": "Yes"}, {"zh": "是", "en": "Sure"}],
        ["Yes", " yes "],
        ["是", {"zh": "是", "en": "Yes"}],
    ],
)
def test_duplicate_choices_are_refused(choices):
    task = make_survey(questions=0)
    question = SurveyQuestion(task=task, text="Q", kind="single", choices=choices)
    with pytest.raises(ValidationError) as error:
        question.full_clean()
    assert list(error.value.message_dict) == ["choices"]
    assert "twice" in error.value.message_dict["choices"][0]
    assert SurveyQuestion.objects.count() == 0


@pytest.mark.parametrize(
    "choices",
    [
        ["", "No"],
        ["Yes", "  "],
        [{"zh": "", "en": "Yes"}, "No"],
        [{"zh": "是", "en": "  "}, "No"],
        [1, 2],
        [{"zh": 1, "en": "Yes"}, "No"],
        [{"zh": "是", "en": None}, "No"],
        [None, "No"],
        [["a"], "No"],
    ],
)
def test_empty_or_non_text_choices_are_refused(choices):
    assert rules.question_choices_error(kind="single", choices=choices) == (
        'Each choice is a non-empty text or {"zh": …, "en": …} with texts.'
    )


def test_distinct_choices_are_accepted():
    assert rules.question_choices_error(kind="single", choices=[{"zh": "是", "en": "Yes"}, {"zh": "否"}]) == ""


# 8. The admin labels tiers with their names in the reader's language.


def test_the_admin_labels_tiers_by_name_in_the_readers_language():
    ladder = points_selectors.tier_ladder()
    assert ladder
    with translation.override("zh-hans"):
        zh = [label for _code, label in TaskForm().fields["tier_codes"].choices]
        names_zh = [t.name for t in points_selectors.tier_ladder()]
    with translation.override("en"):
        en = [label for _code, label in TaskForm().fields["tier_codes"].choices]
        names_en = [t.name for t in points_selectors.tier_ladder()]
    assert zh == names_zh
    assert en == names_en
    assert zh != en
    assert not set(zh) & {t.code for t in ladder}


def test_the_admin_refuses_a_daily_task_on_a_once_event(admin_client):
    data = {
        "title": "设置支付密码",
        "title_en": "Set a payment PIN",
        "reward_points": "30",
        "kind": "daily",
        "completion": "event",
        "event": "pin_set",
        "target": "1",
        "position": "0",
        "active": "on",
        "questions-TOTAL_FORMS": "0",
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(reverse("admin:tasks_task_add"), data)
    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    assert Task.objects.count() == 0
    data["kind"] = "one_off"
    assert admin_client.post(reverse("admin:tasks_task_add"), data).status_code == 302
    assert Task.objects.count() == 1
