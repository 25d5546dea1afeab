"""The tasks app's write surface: check-in, tasks, leaderboard. The only code that writes its tables."""

# --- Leaderboard ------------------------------------------------------------------------------
from tasks.services.leaderboard import *  # noqa: F403
