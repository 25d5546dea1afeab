"""Celery entry points of the ledger: no arguments that matter, one service call each.

One name per job: the service ``points_expire``, the command ``points_expire`` and the task
``points.expire`` (the command's name with its app prefix as the task's namespace). All
are safe to run twice and on several workers at once (see the services' docstrings).
"""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded

from points import services
from pointsmall.kernel.jobs import job, retry_countdown

logger = logging.getLogger(__name__)


@job(
    name="points.expire",
    idempotent="by state: expires only lots still due (remaining > 0), each batch of accounts locked "
    "(SKIP LOCKED) and expired in one transaction",
    long=True,
    # Each batch commits on its own: a run stopped by its soft limit is taken up by a new one,
    # which goes on from what is still due, instead of leaving the rest for tomorrow's sweep.
    retry_for=(SoftTimeLimitExceeded,),
    bind=True,
)
def points_expire(self) -> dict:
    report = services.points_expire()
    # Accounts locked by someone else were skipped. A member's own next operation settles them,
    # but the rest would wait for tomorrow's sweep: sweep again in a few seconds instead. This is
    # also how the sweep redelivered after a crash gets the accounts the dead run still held.
    if report.skipped_members and not self.request.is_eager and self.request.retries < self.max_retries:
        logger.info("points.expire: %s members were busy, sweeping again", report.skipped_members)
        raise self.retry(countdown=retry_countdown(self.request.retries, base=5))
    return {"lots": report.lots, "points": report.points, "members": report.members, "skipped": report.skipped_members}


@job(
    name="points.vest",
    idempotent="by state: vests only pending points whose window ended, each batch under its accounts' locks",
    long=True,
)
def points_vest() -> dict:
    report = services.points_vest()
    return {"points": report.points, "members": report.members}


@job(
    name="points.remind",
    idempotent="lots are marked reminded in the transaction that writes the notice; marked lots are skipped",
    long=True,
)
def points_remind() -> int:
    return services.points_remind()


@job(
    name="points.tiers_recalculate",
    idempotent="compares each member with where they stand now: a second run in the month changes nothing",
    long=True,
)
def points_tiers_recalculate() -> dict:
    report = services.points_tiers_recalculate()
    return {"members": report.members, "upgraded": report.upgraded, "downgraded": report.downgraded}


@job(
    name="points.tiers_warn_downgrades",
    idempotent="a guarded update of tier_warned_for claims each member in the warning's transaction",
    long=True,
)
def points_tiers_warn_downgrades() -> int:
    return services.points_tiers_warn_downgrades()


# Beat runs it every minute: a run that takes longer stops (each batch commits on its own)
# instead of piling up behind the next one.
@job(
    name="points.holds_expire",
    idempotent="by state: ends only holds still active past their expiry, under the accounts' locks",
    soft_time_limit=50,
    time_limit=60,
)
def points_holds_expire() -> int:
    return services.points_holds_expire()
