"""Admin of check-in rules, tasks and surveys, and the leaderboard."""

from tasks.admin import checkin, leaderboard, task  # noqa: F401
