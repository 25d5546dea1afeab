"""What the tasks app tells members (history texts, inbox messages), one module per area.

points.notices autodiscovers ``tasks.notices``; importing the parts here registers their codes.
"""

from tasks.notices import checkin, leaderboard, task  # noqa: F401
