"""Reads of the tasks app: check-in calendar, task list, leaderboard."""

# --- Tasks and surveys ------------------------------------------------------------------------
# --- Leaderboard ------------------------------------------------------------------------------
from tasks.selectors.leaderboard import *  # noqa: F403
from tasks.selectors.task import (  # noqa: F401
    QuestionView,
    SurveyView,
    TaskCard,
    TaskGroup,
    survey_view,
    task_card,
    task_list,
)
