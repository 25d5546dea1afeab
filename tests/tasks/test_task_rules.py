"""The pure task rules: periods, the status machine, progress, definitions and answers."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tasks.rules import task as rules
from tasks.rules.task import Action, Question


@pytest.mark.parametrize(
    ("kind", "day", "key"),
    [
        ("one_off", date(2026, 12, 9), "once"),
        ("daily", date(2026, 12, 9), "2026-12-09"),
        ("weekly", date(2026, 12, 9), "2026-12-07"),  # Wednesday → that week's Monday
        ("weekly", date(2026, 12, 7), "2026-12-07"),
        ("weekly", date(2026, 12, 13), "2026-12-07"),  # Sunday still belongs to it
        ("weekly", date(2027, 1, 1), "2026-12-28"),  # across a year end
    ],
)
def test_period_keys(kind, day, key):
    assert rules.period_key(kind, day) == key


@pytest.mark.parametrize(
    ("action", "status", "allowed"),
    [
        (Action.START, "available", True),
        (Action.START, "in_progress", False),
        (Action.PAUSE, "in_progress", True),
        (Action.PAUSE, "paused", False),
        (Action.PAUSE, "completed", False),
        (Action.RESUME, "paused", True),
        (Action.RESUME, "in_progress", False),
        (Action.CANCEL, "in_progress", True),
        (Action.CANCEL, "paused", True),
        (Action.CANCEL, "completed", False),
        (Action.CANCEL, "claimed", False),
        (Action.CLAIM, "completed", True),
        (Action.CLAIM, "claimed", False),
        (Action.CLAIM, "in_progress", False),
        (Action.COMPLETE, "available", True),
        (Action.COMPLETE, "paused", False),
        (Action.UNDO, "completed", True),
        (Action.UNDO, "claimed", False),
    ],
)
def test_the_transition_table(action, status, allowed):
    assert rules.allows(action, status) is allowed


def test_a_cancelled_one_off_restarts_only_if_the_operator_allows_it():
    assert rules.allows(Action.RESTART, "cancelled", kind="one_off", restartable=True) is True
    assert rules.allows(Action.RESTART, "cancelled", kind="one_off", restartable=False) is False
    # Daily and weekly cancellations last for their period; the next period is a fresh run.
    assert rules.allows(Action.RESTART, "cancelled", kind="daily", restartable=True) is False
    assert rules.allows(Action.RESTART, "in_progress", kind="one_off", restartable=True) is False


def test_targets_of_the_transitions():
    assert [rules.target(a) for a in (Action.START, Action.PAUSE, Action.RESUME, Action.CANCEL, Action.CLAIM)] == [
        "in_progress",
        "paused",
        "in_progress",
        "cancelled",
        "claimed",
    ]


def test_only_available_and_in_progress_tasks_accept_events():
    assert [
        s
        for s in ("available", "in_progress", "paused", "cancelled", "completed", "claimed")
        if rules.accepts_events(s)
    ] == [
        "available",
        "in_progress",
    ]


def test_count_events_add_one_and_a_streak_keeps_the_highest_level():
    assert rules.progress_after("address_added", 2, None) == 3
    assert rules.progress_after("checkin_streak", 2, 5) == 5
    assert rules.progress_after("checkin_streak", 5, 1) == 5  # a broken streak does not undo the level reached


def test_window_and_tier_targeting():
    now = datetime(2026, 12, 9, 10)
    assert rules.in_window(None, None, now)
    assert rules.in_window(datetime(2026, 12, 9, 10), datetime(2026, 12, 9, 11), now)
    assert not rules.in_window(datetime(2026, 12, 9, 11), None, now)
    assert not rules.in_window(None, now, now)  # the end is exclusive
    assert rules.tier_allowed([], "regular")
    assert rules.tier_allowed(["gold", "diamond"], "gold")
    assert not rules.tier_allowed(["gold"], "regular")
    assert not rules.tier_allowed(["gold"], None)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("/announcements/3/", True),
        ("https://example.com/share", True),
        ("//evil.example.com/", False),
        ("http://example.com/", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("/\\evil.example.com", False),
        ("", False),
    ],
)
def test_visit_urls_are_mall_paths_or_https(url, ok):
    assert rules.visit_url_ok(url) is ok


def test_definition_errors_name_the_field():
    base = {"starts_at": None, "ends_at": None, "tier_codes": [], "known_tiers": {"regular", "gold"}}
    assert rules.task_definition_errors(completion="event", event="pin_set", visit_url="", **base) == {}
    assert set(rules.task_definition_errors(completion="event", event="", visit_url="/x/", **base)) == {
        "event",
        "visit_url",
    }
    assert set(rules.task_definition_errors(completion="visit", event="", visit_url="", **base)) == {"visit_url"}
    assert set(rules.task_definition_errors(completion="survey", event="pin_set", visit_url="", **base)) == {"event"}
    wrong_tiers = {**base, "tier_codes": ["gold", "platinum"]}
    assert rules.task_definition_errors(completion="survey", event="", visit_url="", **wrong_tiers) == {
        "tier_codes": "Unknown tiers: platinum"
    }
    backwards = {**base, "starts_at": datetime(2026, 12, 9), "ends_at": datetime(2026, 12, 8)}
    assert set(rules.task_definition_errors(completion="survey", event="", visit_url="", **backwards)) == {"ends_at"}


def test_question_choices_are_checked():
    assert rules.question_choices_error(kind="single", choices=["Yes", "No"]) == ""
    assert rules.question_choices_error(kind="multiple", choices=[{"zh": "是", "en": "Yes"}, {"zh": "否"}]) == ""
    assert rules.question_choices_error(kind="single", choices=["Yes"]) != ""
    assert rules.question_choices_error(kind="text", choices=["Yes", "No"]) != ""
    assert rules.question_choices_error(kind="single", choices=[{"en": "Yes"}, "No"]) != ""
    assert rules.question_choices_error(kind="text", choices=[]) == ""


QUESTIONS = [
    Question(id=1, text="Colour?", kind="single", choice_count=3, required=True),
    Question(id=2, text="Which days?", kind="multiple", choice_count=7, required=True),
    Question(id=3, text="Anything else?", kind="text", choice_count=0, required=False),
]


def test_a_complete_answer_set_is_cleaned():
    cleaned = rules.clean_answers(QUESTIONS, {"1": "2", "2": ["3", "0", "3"], "3": "  fine  "})
    assert cleaned == ({"1": 2, "2": [0, 3], "3": "fine"}, None)
    assert rules.clean_answers(QUESTIONS, {"1": 0, "2": [1]}) == ({"1": 0, "2": [1]}, None)


@pytest.mark.parametrize(
    ("answers", "question", "reason"),
    [
        ({"2": ["1"]}, 1, "missing"),
        ({"1": "0"}, 2, "missing"),
        ({"1": "0", "2": []}, 2, "missing"),
        ({"1": "3", "2": ["1"]}, 1, "invalid"),
        ({"1": "x", "2": ["1"]}, 1, "invalid"),
        ({"1": "0", "2": ["9"]}, 2, "invalid"),
        ({"1": "0", "2": ["1"], "3": "x" * 501}, 3, "too_long"),
    ],
)
def test_an_incomplete_or_invalid_answer_set_names_the_question(answers, question, reason):
    cleaned, problem = rules.clean_answers(QUESTIONS, answers)
    assert cleaned == {}
    assert (problem.question.id, problem.reason) == (question, reason)
