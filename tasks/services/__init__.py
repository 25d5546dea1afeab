"""The tasks app's write surface: check-in, tasks, leaderboard. The only code that writes its tables."""

from tasks.services import announce, checkin, leaderboard, task
from tasks.services.announce import *  # noqa: F403
from tasks.services.checkin import *  # noqa: F403
from tasks.services.leaderboard import *  # noqa: F403
from tasks.services.task import *  # noqa: F403

__all__ = [*announce.__all__, *checkin.__all__, *leaderboard.__all__, *task.__all__]
