"""What the re-check of issue #14 found after the fixes (docs/reliability.md), each kept by a test:

- a job Celery terminated (its broker connection lost mid-run) is not marked done in the outbox;
- the outbox refuses a task name no worker knows (its row could never be done);
- the flash gate leaves a failed Redis alone for a while instead of paying a timeout per buyer;
- gunicorn's own error lines lose the query string of the path they print.
"""

from __future__ import annotations

import logging

import pytest
import redis
from celery import states
from celery.signals import task_postrun

from catalog import flash_gate
from pointsmall.logs import gunicorn_logging_config
from pointsmall.outbox import services as outbox
from pointsmall.outbox.models import OutboxJob


class _Request(dict):
    """What ``task.request`` looks like to the postrun hook: the message headers as items."""


class _Task:
    def __init__(self, job_id: int) -> None:
        self.request = _Request({outbox.OUTBOX_HEADER: job_id})


def _job(db) -> int:
    return OutboxJob.objects.create(task="catalog.low_stock_notify", args=[1], kwargs={}).pk


@pytest.mark.parametrize(
    ("state", "done"),
    [(states.SUCCESS, True), (states.FAILURE, True), (states.RETRY, False), (None, False)],
)
def test_only_a_job_that_succeeded_or_failed_for_good_is_done(db, state, done):
    job_id = _job(db)

    task_postrun.send(sender=None, task=_Task(job_id), state=state)

    assert (OutboxJob.objects.get(pk=job_id).done_at is not None) is done


def test_the_outbox_refuses_a_task_no_worker_knows_and_writes_nothing(db):
    with pytest.raises(ValueError, match="no such Celery task"):
        outbox.job_enqueue("catalog.no_such_job", 1)

    assert not OutboxJob.objects.exists()


def test_a_failed_flash_gate_redis_is_left_alone_and_said_once(db, settings, monkeypatch, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
    settings.CACHE_REDIS_RETRY_SECONDS = 30
    calls = []
    real_run = flash_gate._run

    def counted(*args, **kwargs):
        calls.append(args)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(flash_gate, "_run", counted)

    with caplog.at_level(logging.WARNING, logger="catalog.flash_gate"):
        holds = [flash_gate.take(product_id=1, quantity=1) for _ in range(5)]

    assert [hold.active for hold in holds] == [False] * 5  # the database decides, as designed
    assert len(calls) == 1  # Redis asked once, then left alone for the pause
    assert len([r for r in caplog.records if "Redis unavailable" in r.getMessage()]) == 1

    flash_gate.outage_reset()
    with pytest.raises(redis.RedisError):
        real_run(flash_gate._TAKE, flash_gate.key_for(1), 1)  # still down: the pause, not luck, spared the calls


def test_gunicorns_error_lines_drop_query_strings():
    config = gunicorn_logging_config("text")
    assert "no_query_string" in config["loggers"]["gunicorn.error"]["filters"]
    record = logging.LogRecord(
        "gunicorn.error",
        logging.ERROR,
        __file__,
        1,
        "Error handling request %s",
        ("/admin/x/?q=alice@example.com",),
        None,
    )

    from pointsmall.logs import NoQueryStringFilter

    assert NoQueryStringFilter().filter(record)
    assert record.getMessage() == "Error handling request /admin/x/"


def test_the_outbox_admin_says_each_jobs_state_in_one_column(admin_client):
    from django.utils import timezone

    now = timezone.now()
    OutboxJob.objects.create(task="catalog.low_stock_notify", args=[1], kwargs={})
    OutboxJob.objects.create(task="catalog.low_stock_notify", args=[2], kwargs={}, sent_at=now)
    OutboxJob.objects.create(task="catalog.low_stock_notify", args=[3], kwargs={}, sent_at=now, done_at=now)

    page = admin_client.get("/admin/outbox/outboxjob/").content.decode()

    for label in ("held for the broker", "sent, not yet run", "ran"):
        assert f">{label}<" in page
