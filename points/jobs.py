"""Celery entry points of the ledger: no arguments that matter, one service call each.

All are safe to run twice and on several workers at once (see the services' docstrings).
"""

from __future__ import annotations

from celery import shared_task

from points import services


@shared_task(name="points.expire_due", acks_late=True)
def expire_due() -> dict:
    report = services.points_expire_due()
    return {"lots": report.lots, "points": report.points, "members": report.members, "skipped": report.skipped_members}


@shared_task(name="points.vest_due", acks_late=True)
def vest_due() -> dict:
    report = services.points_vest_due()
    return {"points": report.points, "members": report.members}


@shared_task(name="points.send_expiry_reminders", acks_late=True)
def send_expiry_reminders() -> int:
    return services.points_send_expiry_reminders()


@shared_task(name="points.tiers_recalculate", acks_late=True)
def tiers_recalculate() -> dict:
    report = services.tiers_recalculate()
    return {"members": report.members, "upgraded": report.upgraded, "downgraded": report.downgraded}


@shared_task(name="points.tiers_warn_downgrades", acks_late=True)
def tiers_warn_downgrades() -> int:
    return services.tiers_warn_downgrades()
