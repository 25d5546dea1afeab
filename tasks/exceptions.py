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

# --- Leaderboard ------------------------------------------------------------------------------
