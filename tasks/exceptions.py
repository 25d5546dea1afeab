"""Refusals of the tasks app (check-in, tasks, leaderboard), each with a code and a message a
member can read. The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError

# --- Daily check-in ---------------------------------------------------------------------------

# --- Tasks and surveys ------------------------------------------------------------------------


class TaskNotFoundError(DomainError):
    """Not a task this member can see now (inactive, outside its window, another tier's)."""

    code = "task_not_found"
    default_message = _("This task is not available.")
    http_status = 404


class TaskTransitionError(DomainError):
    code = "task_transition_not_allowed"
    default_message = _("This task can't be %(action)s now.")
    http_status = 409


class TaskWrongCompletionError(DomainError):
    """A visit on a survey task, a survey answer on a visit task, and so on."""

    code = "task_wrong_completion"
    default_message = _("This task is not completed that way.")
    http_status = 409


class TaskNotCompletedError(DomainError):
    code = "task_not_completed"
    default_message = _("Complete the task before claiming its reward.")
    http_status = 409


class SurveyAnswerMissingError(DomainError):
    code = "survey_answer_missing"
    default_message = _("Please answer the question “%(question)s”.")


class SurveyAnswerInvalidError(DomainError):
    code = "survey_answer_invalid"
    default_message = _("The answer to “%(question)s” is not one of its choices.")


class SurveyAnswerTooLongError(DomainError):
    code = "survey_answer_too_long"
    default_message = _("The answer to “%(question)s” is too long (at most %(limit)s characters).")


class SurveyAlreadySubmittedError(DomainError):
    code = "survey_already_submitted"
    default_message = _("You have already answered this survey.")
    http_status = 409


# --- Leaderboard ------------------------------------------------------------------------------


class LeaderboardMonthNotOverError(DomainError):
    code = "leaderboard_month_not_over"
    default_message = _("The prizes of %(month)s are paid once that month is over.")
    http_status = 409
