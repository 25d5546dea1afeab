"""Admin of check-in rules, tasks and surveys, and the leaderboard."""

# --- Tasks and surveys ------------------------------------------------------------------------
# --- Leaderboard ------------------------------------------------------------------------------
from tasks.admin import (
    leaderboard,  # noqa: F401
    task,  # noqa: F401
)
