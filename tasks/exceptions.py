"""Refusals of the tasks app (check-in, tasks, leaderboard), each with a code and a message a
member can read. The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError

# --- Daily check-in ---------------------------------------------------------------------------

# --- Tasks and surveys ------------------------------------------------------------------------

# --- Leaderboard ------------------------------------------------------------------------------


class LeaderboardMonthNotOverError(DomainError):
    code = "leaderboard_month_not_over"
    default_message = _("The prizes of %(month)s are paid once that month is over.")
    http_status = 409
