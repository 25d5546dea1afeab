"""Admin of check-in rules, tasks and surveys, and the leaderboard."""

# --- Leaderboard ------------------------------------------------------------------------------
from tasks.admin import leaderboard  # noqa: F401
