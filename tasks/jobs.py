"""Celery entry points of the tasks app: no arguments that matter, one service call each.

One name per job: the service, the command ``tasks_<verb>`` and the task ``tasks.<verb>``.
All are safe to run twice and on several workers at once (see the services' docstrings).
"""

from __future__ import annotations

from celery import shared_task

from tasks import services

# --- Daily check-in ---------------------------------------------------------------------------


@shared_task(name="tasks.checkin_remind", acks_late=True)
def tasks_checkin_remind() -> int:
    return services.checkin_reminders_send()


# --- Tasks ------------------------------------------------------------------------------------


@shared_task(name="tasks.announce", acks_late=True)
def tasks_announce() -> int:
    return services.tasks_announce()


# --- Leaderboard ------------------------------------------------------------------------------


@shared_task(name="tasks.leaderboard_refresh", acks_late=True)
def leaderboard_refresh() -> dict:
    report = services.leaderboard_refresh()
    return dict(report.ranked)


@shared_task(name="tasks.leaderboard_pay_monthly", acks_late=True)
def leaderboard_pay_monthly() -> dict:
    report = services.leaderboard_pay_monthly()
    return {"month": report.month.isoformat(), "paid": report.paid, "points": report.points}
