"""The tasks app's tables: daily check-in (``checkin``), tasks and surveys (``task``), the
leaderboard (``leaderboard``). Only ``tasks.services`` writes them."""

from tasks.models.checkin import *  # noqa: F403
from tasks.models.leaderboard import *  # noqa: F403
from tasks.models.task import *  # noqa: F403
