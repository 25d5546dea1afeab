"""Celery entry points of the tasks app: no arguments that matter, one service call each.

One name per job: the service ``leaderboard_refresh``, the command ``tasks_leaderboard_refresh``
and the task ``tasks.leaderboard_refresh``. All are safe to run twice and on several workers
at once (see the services' docstrings).
"""

from __future__ import annotations

from celery import shared_task

from tasks import services

# --- Leaderboard ------------------------------------------------------------------------------


@shared_task(name="tasks.leaderboard_refresh", acks_late=True)
def leaderboard_refresh() -> dict:
    report = services.leaderboard_refresh()
    return dict(report.ranked)


@shared_task(name="tasks.leaderboard_pay_monthly", acks_late=True)
def leaderboard_pay_monthly() -> dict:
    report = services.leaderboard_pay_monthly()
    return {"month": report.month.isoformat(), "paid": report.paid, "points": report.points}
