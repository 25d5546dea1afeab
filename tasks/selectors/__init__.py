"""Reads of the tasks app: check-in calendar, task list, leaderboard."""

# --- Leaderboard ------------------------------------------------------------------------------
from tasks.selectors.leaderboard import *  # noqa: F403
