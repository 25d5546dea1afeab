"""The ledger's Celery jobs, run by a real worker over the Redis broker."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from points import jobs, services
from points.models import Account, Entry
from pointsmall.celery import app as celery_app

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.celery
def test_worker_expires_due_points_and_a_second_run_changes_nothing(celery_worker, member, other_member):
    with time_machine.travel(datetime(2024, 1, 10, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=100, idempotency_key="a")
        services.points_earn(user_id=other_member.pk, amount=40, idempotency_key="b")
    first = jobs.points_expire.delay().get(timeout=30)
    second = jobs.points_expire.delay().get(timeout=30)
    assert first == {"lots": 2, "points": 140, "members": 2, "skipped": 0}
    assert second == {"lots": 0, "points": 0, "members": 0, "skipped": 0}
    assert Account.objects.get(user=member).balance == 0
    assert Entry.objects.filter(kind="expire").count() == 2
    assert services.points_verify().ok


@pytest.mark.celery
def test_worker_vests_pending_points(celery_worker, member):
    with time_machine.travel(datetime(2026, 1, 1, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(
            user_id=member.pk, amount=60, idempotency_key="p", available_at=datetime(2026, 1, 8, tzinfo=SHANGHAI)
        )
    assert jobs.points_vest.delay().get(timeout=30) == {"points": 60, "members": 1}
    account = Account.objects.get(user=member)
    assert (account.balance, account.pending) == (60, 0)


def test_jobs_run_in_process_without_a_broker(member, settings):
    """The embedded default: with no REDIS_URL, jobs execute inline (task_always_eager)."""
    with time_machine.travel(datetime(2024, 1, 10, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=25, idempotency_key="a")
    celery_app.conf.task_always_eager = True
    try:
        assert jobs.points_expire.delay().get() == {"lots": 1, "points": 25, "members": 1, "skipped": 0}
    finally:
        celery_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


def test_beat_schedule_names_registered_jobs():
    # What a worker or beat process loads at start: every app's jobs module and CELERY_IMPORTS.
    celery_app.loader.import_default_modules()
    registered = set(celery_app.tasks.keys())
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in registered
