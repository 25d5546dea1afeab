"""Refusals of the tasks app (check-in, tasks, leaderboard), each with a code and a message a
member can read. The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError

# --- Daily check-in ---------------------------------------------------------------------------


class MakeupDisabledError(DomainError):
    code = "checkin_makeup_disabled"
    http_status = 409
    default_message = _("Make-up check-ins are switched off at the moment.")


class MakeupDayError(DomainError):
    code = "checkin_makeup_day"
    default_message = _("Only a missed day of this cycle before today can be made up.")


class MakeupBeforeJoiningError(DomainError):
    code = "checkin_makeup_before_joining"
    default_message = _("You can't make up a day before you joined.")


class MakeupAlreadyCheckedError(DomainError):
    code = "checkin_makeup_already_checked"
    http_status = 409
    default_message = _("You already checked in on %(day)s.")


class MakeupLimitError(DomainError):
    code = "checkin_makeup_limit"
    http_status = 409
    default_message = _("You have used all %(limit)s make-up check-ins of this cycle.")


class MakeupPaymentError(DomainError):
    code = "checkin_makeup_payment"
    default_message = _("Choose to pay with points or with a make-up card.")


class NoMakeupCardError(DomainError):
    code = "checkin_no_makeup_card"
    http_status = 409
    default_message = _("You have no make-up card left.")


class InvalidReminderError(DomainError):
    code = "checkin_reminder_invalid"
    default_message = _("Choose an hour between 0 and 23.")


class InvalidCheckinPrivilegeError(DomainError):
    code = "checkin_privilege_invalid"
    default_message = _("This check-in privilege has invalid parameters.")


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
