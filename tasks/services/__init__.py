"""The tasks app's write surface: check-in, tasks, leaderboard. The only code that writes its tables."""

# --- Daily check-in ---------------------------------------------------------------------------
from tasks.services.checkin import *  # noqa: F403
