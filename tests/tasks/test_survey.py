"""Surveys: a complete answer set is stored and completes the task; a missing or invalid answer
refuses the whole set and writes nothing; the admin insists on questions for a survey."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from tasks import services
from tasks.exceptions import (
    SurveyAlreadySubmittedError,
    SurveyAnswerInvalidError,
    SurveyAnswerMissingError,
    TaskNotFoundError,
    TaskTransitionError,
    TaskWrongCompletionError,
)
from tasks.models import SurveyQuestion, SurveyResponse, Task
from tests.factories import MemberFactory, StaffFactory
from tests.tasks.task_helpers import T0, counts, make_survey, make_task, state, task_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def member(db):
    return MemberFactory()


def answer_ids(task) -> list[str]:
    return [
        str(pk) for pk in SurveyQuestion.objects.filter(task=task).order_by("position").values_list("pk", flat=True)
    ]


def test_a_complete_answer_set_is_stored_and_completes_the_survey(member, clock):
    survey = make_survey()
    first, second = answer_ids(survey)
    services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={first: "0", second: "1"})
    assert list(SurveyResponse.objects.values_list("member_id", "task_id", "period_key", "answers")) == [
        (member.pk, survey.pk, "once", {first: 0, second: 1})
    ]
    assert state(member, survey) == ("completed", 1)
    assert services.task_claim(user_id=member.pk, task_id=survey.pk).granted == 20
    assert task_entries(member) == [("earn", "survey", 20, 0)]


def test_a_survey_with_a_missing_answer_is_refused_naming_the_question_and_nothing_is_written(member, clock):
    survey = make_survey()
    first, _second = answer_ids(survey)
    before = counts()
    with pytest.raises(SurveyAnswerMissingError) as error:
        services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={first: "0"})
    assert error.value.message == "Please answer the question “Question 2”."
    assert counts() == before
    assert state(member, survey) is None


def test_an_answer_that_is_not_a_choice_is_refused_and_nothing_is_written(member, clock):
    survey = make_survey()
    first, second = answer_ids(survey)
    before = counts()
    with pytest.raises(SurveyAnswerInvalidError):
        services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={first: "0", second: "7"})
    assert counts() == before


def test_an_optional_question_may_be_left_out(member, clock):
    survey = make_survey()
    first, second = answer_ids(survey)
    SurveyQuestion.objects.filter(pk=second).update(required=False)
    services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={first: "1"})
    assert SurveyResponse.objects.get().answers == {first: 1}


def test_a_survey_is_answered_once_per_period(member, clock):
    survey = make_survey()
    first, second = answer_ids(survey)
    services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={first: "0", second: "0"})
    before = counts()
    with pytest.raises(SurveyAlreadySubmittedError):
        services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={first: "1", second: "1"})
    assert counts() == before


def test_a_paused_survey_cannot_be_answered(member, clock):
    survey = make_survey()
    services.task_start(user_id=member.pk, task_id=survey.pk)
    services.task_pause(user_id=member.pk, task_id=survey.pk)
    first, second = answer_ids(survey)
    before = counts()
    with pytest.raises(TaskTransitionError):
        services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={first: "0", second: "0"})
    assert counts() == before


def test_only_survey_tasks_take_answers_and_only_visible_ones(member, clock):
    task = make_task()
    with pytest.raises(TaskWrongCompletionError):
        services.survey_submit(user_id=member.pk, task_id=task.pk, answers={})
    gold_only = make_survey(tier_codes=["gold"])
    with pytest.raises(TaskNotFoundError):
        services.survey_submit(user_id=member.pk, task_id=gold_only.pk, answers={})


def test_a_task_definition_is_checked():
    with pytest.raises(ValidationError) as error:
        Task(title="x", reward_points=5, completion="event", event="").full_clean()
    assert set(error.value.message_dict) == {"event"}
    with pytest.raises(ValidationError) as error:
        Task(title="x", reward_points=5, completion="visit", visit_url="javascript:alert(1)").full_clean()
    assert set(error.value.message_dict) == {"visit_url"}
    with pytest.raises(ValidationError) as error:
        Task(title="x", reward_points=0, completion="survey", tier_codes=["nobody"]).full_clean()
    assert set(error.value.message_dict) == {"reward_points", "tier_codes"}


@pytest.fixture
def admin_client(client, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    return client


def survey_post(**extra) -> dict:
    data = {
        "title": "调查",
        "title_en": "Survey",
        "description": "",
        "description_en": "",
        "reward_points": "20",
        "kind": "one_off",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
        "active": "on",
        "position": "0",
        "completion": "survey",
        "event": "",
        "target": "1",
        "visit_url": "",
        "questions-TOTAL_FORMS": "0",
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    data.update(extra)
    return data


def test_the_admin_refuses_a_survey_without_questions(admin_client):
    response = admin_client.post(reverse("admin:tasks_task_add"), survey_post())
    assert response.status_code == 200
    assert "A survey needs at least one question." in response.content.decode()
    assert Task.objects.count() == 0


def test_the_admin_saves_a_survey_with_its_questions_and_tiers(admin_client):
    response = admin_client.post(
        reverse("admin:tasks_task_add"),
        survey_post(
            **{
                "tier_codes": ["gold", "diamond"],
                "questions-TOTAL_FORMS": "1",
                "questions-0-position": "0",
                "questions-0-kind": "single",
                "questions-0-required": "on",
                "questions-0-text": "喜欢吗？",
                "questions-0-text_en": "Do you like it?",
                "questions-0-choices": '[{"zh": "喜欢", "en": "Yes"}, {"zh": "不喜欢", "en": "No"}]',
            }
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    task = Task.objects.get()
    assert (task.tier_codes, task.questions.count()) == (["gold", "diamond"], 1)
