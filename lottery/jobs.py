"""Celery entry points of the lottery: one service call each, safe to run twice.

One name per job: the service, the command ``lottery_<verb>`` and the task ``lottery.<verb>``.
"""

from __future__ import annotations

from lottery import services
from pointsmall.kernel.jobs import job


@job(
    name="lottery.seeds_reveal",
    idempotent="by state: reveals only ended campaigns not yet revealed, under their row locks",
)
def lottery_seeds_reveal() -> int:
    return services.lottery_seeds_reveal()
