"""The tasks app's write surface: check-in, tasks, leaderboard. The only code that writes its tables."""

# --- Tasks and surveys ------------------------------------------------------------------------
# --- Leaderboard ------------------------------------------------------------------------------
from tasks.services.leaderboard import *  # noqa: F403
from tasks.services.task import (  # noqa: F401
    reward_key,
    survey_submit,
    task_cancel,
    task_claim,
    task_event_record,
    task_event_undo,
    task_pause,
    task_restart,
    task_resume,
    task_start,
    task_visit,
)
