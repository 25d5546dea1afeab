"""Pure task rules: no ORM, no clock (dates and instants are passed in).

- Periods: which run of a task a moment belongs to (``period_key``).
- The status machine: one transition table (action × status → status) that services,
  selectors and templates ask, like ``catalog/order_states.py``.
- Progress by events, and the checks of an operator's task and survey definitions.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

ONCE = "once"
AVAILABLE = "available"  # no progress row for the period

# Task kinds, completion modes and statuses as plain strings (tasks.models holds the choices).
ONE_OFF, DAILY, WEEKLY = "one_off", "daily", "weekly"
BY_EVENT, BY_SURVEY, BY_VISIT = "event", "survey", "visit"
IN_PROGRESS, PAUSED, COMPLETED, CLAIMED, CANCELLED = "in_progress", "paused", "completed", "claimed", "cancelled"

# Events whose value is a level reached (a streak), not one more occurrence.
LEVEL_EVENTS = frozenset({"checkin_streak"})
# Events that describe a fact of the member (true or not), which may already hold when a task starts.
STATE_EVENTS = frozenset({"profile_completed", "pin_set", "address_added"})
# Events that happen at most once per member: a task on them is one-off with target 1.
ONCE_EVENTS = STATE_EVENTS | {"first_redemption"}
CHECKIN_STREAK = "checkin_streak"


def period_key(kind: str, day: date) -> str:
    """The period a business ``day`` belongs to: "once" (one-off), the day (daily), or the
    Monday of its ISO week (weekly), as ISO dates."""
    if kind == DAILY:
        return day.isoformat()
    if kind == WEEKLY:
        return (day - timedelta(days=day.weekday())).isoformat()
    return ONCE


class Action(enum.StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RESTART = "restart"
    COMPLETE = "complete"
    CLAIM = "claim"
    UNDO = "undo"  # the event that completed it was undone before the reward was claimed


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    label: object  # as in "This task can't be <label> now"


TRANSITIONS: dict[Action, Transition] = {
    Action.START: Transition(frozenset({AVAILABLE}), IN_PROGRESS, pgettext_lazy("task action", "started")),
    Action.PAUSE: Transition(frozenset({IN_PROGRESS}), PAUSED, pgettext_lazy("task action", "paused")),
    Action.RESUME: Transition(frozenset({PAUSED}), IN_PROGRESS, pgettext_lazy("task action", "resumed")),
    Action.CANCEL: Transition(frozenset({IN_PROGRESS, PAUSED}), CANCELLED, pgettext_lazy("task action", "cancelled")),
    Action.RESTART: Transition(frozenset({CANCELLED}), IN_PROGRESS, pgettext_lazy("task action", "restarted")),
    Action.COMPLETE: Transition(
        frozenset({AVAILABLE, IN_PROGRESS}), COMPLETED, pgettext_lazy("task action", "completed")
    ),
    Action.CLAIM: Transition(frozenset({COMPLETED}), CLAIMED, pgettext_lazy("task action", "claimed")),
    Action.UNDO: Transition(frozenset({COMPLETED}), IN_PROGRESS, pgettext_lazy("task action", "undone")),
}


def allows(action: Action | str, status: str, *, kind: str = ONE_OFF, restartable: bool = False) -> bool:
    """Whether ``action`` may move a task from ``status``. A cancelled one-off restarts only
    if the operator allows it; a cancelled daily or weekly task stays cancelled for its
    period (the next period is a fresh run, "available")."""
    action = Action(action)
    if status not in TRANSITIONS[action].sources:
        return False
    if action == Action.RESTART:
        return kind == ONE_OFF and restartable
    return True


def target(action: Action | str) -> str:
    return TRANSITIONS[Action(action)].target


def label(action: Action | str) -> object:
    return TRANSITIONS[Action(action)].label


def accepts_events(status: str) -> bool:
    """Events progress an available or in-progress task; a paused or cancelled one ignores
    them, a completed or claimed one has nothing left to do."""
    return status in (AVAILABLE, IN_PROGRESS)


def progress_after(event: str, current: int, value: int | None) -> int:
    """Progress after one new event: a level event (a streak of N days) keeps the highest
    level reached; a count event adds one."""
    if event in LEVEL_EVENTS:
        return max(current, value or 0)
    return current + 1


def streak_in_period(*, kind: str, streak: int, day: date) -> int:
    """The part of a check-in ``streak`` (days in a row up to the business ``day`` of the
    check-in) that lies inside the task's period: a weekly task counts from the period's
    Monday (at most ``day.weekday() + 1``), a daily one counts that day only (at most 1), a
    one-off the whole streak."""
    streak = max(0, streak)
    if kind == WEEKLY:
        return min(streak, day.weekday() + 1)
    if kind == DAILY:
        return min(streak, 1)
    return streak


def in_window(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> bool:
    return (starts_at is None or starts_at <= now) and (ends_at is None or now < ends_at)


def tier_allowed(tier_codes: Iterable[str] | None, tier_code: str | None) -> bool:
    codes = list(tier_codes or [])
    return not codes or tier_code in codes


def visit_url_ok(value: str) -> bool:
    """A path inside the mall ("/…", not "//host") or an https:// URL."""
    value = (value or "").strip()
    if value.startswith("/"):
        return not value.startswith("//") and "\\" not in value
    return value.startswith("https://") and len(value) > len("https://")


def task_definition_errors(
    *,
    completion: str,
    event: str,
    visit_url: str,
    kind: str = ONE_OFF,
    target: int | None = 1,
    starts_at: datetime | None,
    ends_at: datetime | None,
    tier_codes: object,
    known_tiers: set[str],
) -> dict[str, str]:
    """What is wrong with an operator's task, by field (empty: nothing)."""
    errors: dict[str, str] = {}
    if completion == BY_EVENT and not event:
        errors["event"] = _("Choose the event that completes this task.")
    if completion != BY_EVENT and event:
        errors["event"] = _("Only a task completed by an event has an event.")
    if completion == BY_EVENT and event in ONCE_EVENTS:
        if kind in (DAILY, WEEKLY):
            errors["kind"] = _(
                "This event happens once per member: a daily or weekly task on it would pay every period. "
                "Make it a one-off task."
            )
        if target is not None and target != 1:
            errors["target"] = _("This event happens once per member: its target must be 1.")
    if completion == BY_EVENT and event == CHECKIN_STREAK and target is not None:
        if kind == DAILY and target > 1:
            errors["target"] = _("A daily task counts one check-in day: its streak target must be 1.")
        if kind == WEEKLY and target > 7:
            errors["target"] = _("A weekly task counts the days of its week: its streak target is at most 7.")
    if completion == BY_VISIT and not visit_url:
        errors["visit_url"] = _("Enter the page or link the member visits.")
    if completion != BY_VISIT and visit_url:
        errors["visit_url"] = _("Only a task completed by a visit has a page or link.")
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if not isinstance(tier_codes, list) or not all(isinstance(c, str) for c in tier_codes):
        errors["tier_codes"] = _("Tiers must be a list of tier codes.")
    else:
        unknown = sorted(set(tier_codes) - known_tiers)
        if unknown:
            errors["tier_codes"] = _("Unknown tiers: %(codes)s") % {"codes": ", ".join(unknown)}
    return errors


def _choice_ok(choice: object) -> bool:
    if isinstance(choice, str):
        return bool(choice.strip())
    if isinstance(choice, Mapping):
        zh, en = choice.get("zh"), choice.get("en", "")
        if set(choice) - {"zh", "en"}:
            return False
        return isinstance(zh, str) and bool(zh.strip()) and isinstance(en, str) and (en == "" or bool(en.strip()))
    return False


def _choice_texts(choice: object) -> tuple[str, str]:
    """A valid choice's (Chinese, English) text as members read it, normalised for comparing
    (an empty English text reads the Chinese one)."""
    if isinstance(choice, str):
        zh = en = choice
    else:
        assert isinstance(choice, Mapping)
        zh, en = choice["zh"], choice.get("en", "") or choice["zh"]
    return zh.strip().casefold(), en.strip().casefold()


def question_choices_error(*, kind: str, choices: object) -> str:
    """What is wrong with a question's choices ("" : nothing): not a list, a choice that is not
    a non-empty text or {"zh": text, "en": text}, the same choice twice (in either language),
    choices on a free-text question, fewer than two on a choice question."""
    if not isinstance(choices, list):
        return _("Choices must be a list.")
    for choice in choices:
        if not _choice_ok(choice):
            return _('Each choice is a non-empty text or {"zh": …, "en": …} with texts.')
    seen_zh: set[str] = set()
    seen_en: set[str] = set()
    for choice in choices:
        zh, en = _choice_texts(choice)
        if zh in seen_zh or en in seen_en:
            return _("Each choice must be different (in both languages): “%(choice)s” is there twice.") % {
                "choice": zh if zh in seen_zh else en
            }
        seen_zh.add(zh)
        seen_en.add(en)
    if kind == "text" and choices:
        return _("A free-text question has no choices.")
    if kind != "text" and len(choices) < 2:
        return _("A choice question needs at least two choices.")
    return ""


@dataclass(frozen=True)
class Question:
    """A survey question as the rules need it."""

    id: int
    text: str
    kind: str
    choice_count: int
    required: bool


@dataclass(frozen=True)
class AnswerProblem:
    """Why an answer set cannot be accepted: which question, and why ("missing", "invalid", "too_long")."""

    question: Question
    reason: str


TEXT_ANSWER_MAX = 500


def clean_answers(
    questions: list[Question], answers: Mapping[str, object]
) -> tuple[dict[str, object], AnswerProblem | None]:
    """The answers to store, keyed by question id (str): a choice's index (single), a sorted
    list of indexes (multiple), stripped text (text); or, instead ({}, problem), the problem of
    the first question in order that is missing a required answer or has an invalid one."""
    cleaned: dict[str, object] = {}
    for question in questions:
        value, reason = _clean_one(question, answers.get(str(question.id)))
        if reason:
            return {}, AnswerProblem(question, reason)
        if value not in (None, "", []):
            cleaned[str(question.id)] = value
        elif question.required:
            return {}, AnswerProblem(question, "missing")
    return cleaned, None


def _clean_one(question: Question, raw: object) -> tuple[object, str]:
    """(the cleaned answer or None, "" or why it is invalid)."""
    if question.kind == "text":
        value = raw.strip() if isinstance(raw, str) else ""
        return (None, "too_long") if len(value) > TEXT_ANSWER_MAX else (value, "")
    if question.kind == "multiple":
        picked = raw if isinstance(raw, list | tuple) else ([] if raw in (None, "") else [raw])
        indexes = [_index(question, item) for item in picked]
        if any(i is None for i in indexes):
            return None, "invalid"
        return sorted(set(indexes)), ""  # type: ignore[type-var]
    if raw in (None, ""):
        return None, ""
    index = _index(question, raw)
    return (None, "invalid") if index is None else (index, "")


def _index(question: Question, raw: object) -> int | None:
    try:
        index = int(str(raw))
    except ValueError:
        return None
    return index if 0 <= index < question.choice_count else None
