"""Celery entry points of the tasks app: no arguments that matter, one service call each.

One name per job: the service, the command ``tasks_<verb>`` and the task ``tasks.<verb>``.
All are safe to run twice and on several workers at once (see the services' docstrings).
"""

from __future__ import annotations

from pointsmall.kernel.jobs import job
from tasks import services

# --- Daily check-in ---------------------------------------------------------------------------


@job(
    name="tasks.checkin_remind",
    idempotent="a guarded update of last_sent_on claims each member in the message's transaction",
    long=True,
)
def tasks_checkin_remind() -> int:
    return services.checkin_reminders_send()


# --- Tasks ------------------------------------------------------------------------------------


@job(
    name="tasks.announce",
    idempotent="a guarded update of announced_at claims each task in the messages' transaction",
)
def tasks_announce() -> int:
    return services.tasks_announce()


# --- Leaderboard ------------------------------------------------------------------------------


@job(
    name="tasks.leaderboard_refresh",
    idempotent="rewrites the snapshot from the ledger under the policy row's lock (absolute, not increments)",
)
def leaderboard_refresh() -> dict:
    report = services.leaderboard_refresh()
    return dict(report.ranked)


@job(
    name="tasks.leaderboard_pay_monthly",
    idempotent="a member is paid once a month: the earn's idempotency key and the payout row, under their lock",
    long=True,
)
def leaderboard_pay_monthly() -> dict:
    report = services.leaderboard_pay_monthly()
    return {"month": report.month.isoformat(), "paid": report.paid, "points": report.points}
