"""Which member-facing features exist yet, so that no page promises one that doesn't.

A feature exists once its app serves its page: its URL name resolves (the same test the
nav uses, docs/decisions/0004). Until then the rules page lists no earning rule of it, a
campaign banner names none of its sources, and tier benefits leave out what it would give
(docs/decisions/0020). The ledger imports none of the apps: it only asks the URL resolver.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from points.enums import EarningSource

CHECKIN = "checkin"
TASKS = "tasks"
LOTTERY = "lottery"
LEADERBOARD = "leaderboard"

# Feature → the URL name of the page that shows it exists.
FEATURE_PAGES = {CHECKIN: "checkin", TASKS: "task_list", LOTTERY: "lottery", LEADERBOARD: "leaderboard"}

# Earning sources that only a not-yet-built feature can pay. Every other source (sign-up,
# purchases, reviews, referrals...) exists today.
SOURCE_FEATURES = {
    EarningSource.CHECKIN: CHECKIN,
    EarningSource.TASK: TASKS,
    EarningSource.SURVEY: TASKS,  # surveys are a kind of task
    EarningSource.SHARE: TASKS,  # rewarded visits and shares are tasks too
    EarningSource.LOTTERY: LOTTERY,
    EarningSource.LEADERBOARD: LEADERBOARD,  # monthly prizes of the points leaderboard
}


def feature_live(name: str) -> bool:
    """Whether the feature's page exists (its URL name resolves)."""
    try:
        reverse(FEATURE_PAGES[name])
    except NoReverseMatch:
        return False
    return True


def source_live(source: str) -> bool:
    """Whether members can earn from ``source`` today."""
    feature = SOURCE_FEATURES.get(source)
    return feature is None or feature_live(feature)


def live_sources() -> list[str]:
    """The earning sources members can earn from today, in their declared order."""
    return [source for source in EarningSource.values if source_live(source)]
