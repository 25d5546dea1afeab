"""Reads of the tasks app: check-in calendar, task list, leaderboard."""

from tasks.selectors import checkin, leaderboard, task
from tasks.selectors.checkin import *  # noqa: F403
from tasks.selectors.leaderboard import *  # noqa: F403
from tasks.selectors.task import *  # noqa: F403

__all__ = [*checkin.__all__, *leaderboard.__all__, *task.__all__]
from tasks.selectors.reports import *  # noqa: F403
