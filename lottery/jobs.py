"""Celery entry points of the lottery: one service call each, safe to run twice.

One name per job: the service, the command ``lottery_<verb>`` and the task ``lottery.<verb>``.
"""

from __future__ import annotations

from celery import shared_task

from lottery import services


@shared_task(name="lottery.seeds_reveal", acks_late=True)
def lottery_seeds_reveal() -> int:
    return services.lottery_seeds_reveal()
