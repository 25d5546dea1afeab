"""Reads of the tasks app: check-in calendar, task list, leaderboard."""

# --- Daily check-in ---------------------------------------------------------------------------
from tasks.selectors.checkin import *  # noqa: F403
