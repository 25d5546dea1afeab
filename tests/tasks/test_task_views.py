"""Task pages: the list with statuses and allowed actions, POST actions (PRG), a visit's
redirect, the survey form; anonymous visitors sign in; nobody sees another member's data."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from tasks import services
from tasks.enums import TaskEvent
from tasks.models import SurveyQuestion, SurveyResponse
from tests.factories import MemberFactory
from tests.tasks.task_helpers import T0, counts, make_survey, make_task, state

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
    return [str(m) for m in response.context["messages"]] if response.context else []


def card(response, task) -> dict:
    for group in response.context["groups"]:
        for c in group.cards:
            if c.id == task.pk:
                return {"status": c.status, "progress": f"{c.progress}/{c.target}", "actions": list(c.actions)}
    return {}


@pytest.mark.parametrize("name", ["task_list", "task_survey"])
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    task = make_survey()
    url = reverse(name) if name == "task_list" else reverse(name, args=[task.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_anonymous_actions_change_nothing(client, member):
    task = make_task()
    before = counts()
    response = client.post(reverse("task_action", args=[task.pk, "start"]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert counts() == before


def test_the_list_groups_tasks_and_shows_status_progress_and_actions(member_client, member):
    daily = make_task(title="每日分享", title_en="Share today", kind="daily", completion="visit", visit_url="/mall/")
    weekly = make_task(
        title="每周邀请", title_en="Invite weekly", kind="weekly", event=TaskEvent.FRIEND_SIGNED_UP, target=3
    )
    once = make_task(restartable=True)
    survey = make_survey()
    services.task_event_record(user_id=member.pk, event=TaskEvent.FRIEND_SIGNED_UP, reference="referral:1")

    response = member_client.get(reverse("task_list"))

    assert response.status_code == 200
    assert [g.kind for g in response.context["groups"]] == ["daily", "weekly", "one_off"]
    assert card(response, daily) == {"status": "available", "progress": "0/1", "actions": ["visit"]}
    assert card(response, weekly) == {"status": "in_progress", "progress": "1/3", "actions": ["pause", "cancel"]}
    assert card(response, once) == {"status": "available", "progress": "0/1", "actions": ["start"]}
    assert card(response, survey) == {"status": "available", "progress": "0/1", "actions": ["answer"]}
    page = response.content.decode()
    assert "Invite weekly" in page and "1/3" in page and "+30 points" in page


def test_the_list_is_in_the_readers_language(member_client):
    make_task(title="设置支付密码", title_en="Set a payment PIN")
    member_client.cookies["django_language"] = "zh-hans"
    response = member_client.get(reverse("task_list"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "设置支付密码" in response.content.decode()


def test_actions_move_the_task_and_come_back_to_the_list(member_client, member):
    task = make_task(event=TaskEvent.FRIEND_SIGNED_UP, target=2, restartable=True)
    for action, expected in (
        ("start", ("in_progress", 0)),
        ("pause", ("paused", 0)),
        ("resume", ("in_progress", 0)),
        ("cancel", ("cancelled", 0)),
        ("restart", ("in_progress", 0)),
    ):
        response = member_client.post(reverse("task_action", args=[task.pk, action]), follow=True)
        assert response.redirect_chain == [(reverse("task_list"), 302)]
        assert state(member, task) == expected
    assert card(response, task)["actions"] == ["pause", "cancel"]


def test_a_refused_action_says_why_and_writes_nothing(member_client, member):
    task = make_task()
    before = counts()
    response = member_client.post(reverse("task_action", args=[task.pk, "pause"]), follow=True)
    assert messages_of(response) == ["This task can't be paused now."]
    assert counts() == before


def test_claiming_pays_and_says_how_much(member_client, member):
    task = make_task()
    services.task_event_record(user_id=member.pk, event=TaskEvent.PIN_SET, reference="accounts.pin")
    response = member_client.get(reverse("task_list"))
    assert card(response, task)["actions"] == ["claim"]
    response = member_client.post(reverse("task_claim", args=[task.pk]), follow=True)
    assert messages_of(response) == ["You earned 30 points."]
    assert card(response, task) == {"status": "claimed", "progress": "1/1", "actions": []}
    assert "+30 earned" in response.content.decode()


def test_a_visit_completes_the_task_and_redirects_to_its_link(member_client, member):
    task = make_task(completion="visit", visit_url="https://example.com/news")
    response = member_client.post(reverse("task_visit", args=[task.pk]))
    assert (response.status_code, response["Location"]) == (302, "https://example.com/news")
    assert state(member, task) == ("completed", 1)
    assert member_client.get(reverse("task_visit", args=[task.pk])).status_code == 405


@pytest.mark.parametrize(
    "fields",
    [{"tier_codes": ["gold"]}, {"active": False}, {"ends_at": T0}],
)
def test_a_task_the_member_may_not_see_is_not_found(member_client, member, fields):
    task = make_task(completion="visit", visit_url="/mall/", **fields)
    before = counts()
    assert task.pk not in [c.id for g in member_client.get(reverse("task_list")).context["groups"] for c in g.cards]
    assert member_client.post(reverse("task_visit", args=[task.pk])).status_code == 404
    assert member_client.post(reverse("task_action", args=[task.pk, "start"])).status_code == 404
    # Nothing completed in its period: an ended task is as hidden as any other (issue #10).
    assert member_client.post(reverse("task_claim", args=[task.pk])).status_code == 404
    assert counts() == before


def test_an_unknown_action_is_not_found(member_client):
    task = make_task()
    assert member_client.post(reverse("task_action", args=[task.pk, "explode"])).status_code == 404


def test_another_members_progress_is_not_shown(member_client, member):
    other = MemberFactory()
    task = make_task()
    services.task_event_record(user_id=other.pk, event=TaskEvent.PIN_SET, reference="accounts.pin")
    services.task_claim(user_id=other.pk, task_id=task.pk)
    response = member_client.get(reverse("task_list"))
    assert card(response, task) == {"status": "available", "progress": "0/1", "actions": ["start"]}


def test_the_survey_page_shows_its_questions_and_takes_a_complete_answer_set(member_client, member):
    survey = make_survey()
    first, second = SurveyQuestion.objects.filter(task=survey).order_by("position").values_list("pk", flat=True)
    page = member_client.get(reverse("task_survey", args=[survey.pk]))
    assert page.status_code == 200
    assert "Question 1" in page.content.decode() and "Yes" in page.content.decode()

    response = member_client.post(reverse("task_survey", args=[survey.pk]), {str(first): "0"})
    assert response.status_code == 200
    assert "Please answer the question “Question 2”." in response.content.decode()
    assert SurveyResponse.objects.count() == 0

    response = member_client.post(reverse("task_survey", args=[survey.pk]), {str(first): "0", str(second): "1"})
    assert response.status_code == 302 and response["Location"] == reverse("task_list")
    assert state(member, survey) == ("completed", 1)


def test_a_task_that_is_no_survey_has_no_survey_page(member_client):
    task = make_task()
    assert member_client.get(reverse("task_survey", args=[task.pk])).status_code == 404


def test_an_answered_survey_sends_the_member_back_to_the_list(member_client, member):
    survey = make_survey()
    first, second = SurveyQuestion.objects.filter(task=survey).order_by("position").values_list("pk", flat=True)
    services.survey_submit(user_id=member.pk, task_id=survey.pk, answers={str(first): "0", str(second): "0"})
    before = counts()
    response = member_client.post(
        reverse("task_survey", args=[survey.pk]), {str(first): "1", str(second): "1"}, follow=True
    )
    assert response.redirect_chain == [(reverse("task_list"), 302)]
    assert messages_of(response) == ["This survey can't be answered now: see its status below."]
    assert counts() == before
