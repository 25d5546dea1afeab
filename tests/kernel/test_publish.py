"""pointsmall.kernel.publish: after a failed publish, this process leaves the broker alone for a while."""

from __future__ import annotations

import logging
from datetime import timedelta

import kombu.exceptions
import pytest
import time_machine
from django.utils import timezone

from pointsmall.celery import app as celery_app
from pointsmall.kernel import publish


@pytest.fixture
def queued():
    """Jobs go to a broker (not run in-process), as in production."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = before


def test_a_failed_publish_pauses_publishing_with_one_line_then_tries_again(queued, settings, caplog):
    settings.JOB_PUBLISH_RETRY_SECONDS = 30
    tried: list[int] = []

    def broker_away() -> None:
        tried.append(1)
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with caplog.at_level(logging.WARNING, logger="pointsmall.kernel.publish"):
        assert publish.publish(broker_away, what="delivery_send") is False
        assert publish.publish(broker_away, what="delivery_send") is False
        assert publish.publish(broker_away, what="webhook_send") is False
    assert len(tried) == 1  # the other two were skipped
    [line] = caplog.records
    assert line.exc_info is None
    assert "publishing paused 30 s" in line.getMessage()
    assert publish.pause_reason() == "OperationalError: Error 111 connecting to 127.0.0.1:6379. Connection refused."

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert publish.paused() is False
        sent: list[int] = []
        assert publish.publish(lambda: sent.append(1), what="delivery_send") is True
    assert sent == [1]


def test_an_error_that_is_not_the_brokers_raises(queued):
    def bug() -> None:
        raise KeyError("task")

    with pytest.raises(KeyError):
        publish.publish(bug, what="delivery_send")
    assert publish.paused() is False
