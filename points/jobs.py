"""Celery entry points of the ledger: no arguments that matter, one service call each.

One name per job: the service ``points_expire``, the command ``points_expire`` and the task
``points.expire`` (the command's name with its app prefix as the task's namespace). All
are safe to run twice and on several workers at once (see the services' docstrings).
"""

from __future__ import annotations

from celery import shared_task

from points import services


@shared_task(name="points.expire", acks_late=True)
def points_expire() -> dict:
    report = services.points_expire()
    return {"lots": report.lots, "points": report.points, "members": report.members, "skipped": report.skipped_members}


@shared_task(name="points.vest", acks_late=True)
def points_vest() -> dict:
    report = services.points_vest()
    return {"points": report.points, "members": report.members}


@shared_task(name="points.remind", acks_late=True)
def points_remind() -> int:
    return services.points_remind()


@shared_task(name="points.tiers_recalculate", acks_late=True)
def points_tiers_recalculate() -> dict:
    report = services.points_tiers_recalculate()
    return {"members": report.members, "upgraded": report.upgraded, "downgraded": report.downgraded}


@shared_task(name="points.tiers_warn_downgrades", acks_late=True)
def points_tiers_warn_downgrades() -> int:
    return services.points_tiers_warn_downgrades()


# Beat runs it every minute: a run that takes longer stops (each batch commits on its own)
# instead of piling up behind the next one.
@shared_task(name="points.holds_expire", acks_late=True, soft_time_limit=50, time_limit=60)
def points_holds_expire() -> int:
    return services.points_holds_expire()
