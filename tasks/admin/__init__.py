"""Admin of check-in rules, tasks and surveys, and the leaderboard."""

# --- Tasks and surveys ------------------------------------------------------------------------
from tasks.admin import task  # noqa: F401
