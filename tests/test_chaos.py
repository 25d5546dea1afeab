"""The chaos run, reduced (issue #14): bench/chaos.py's harness on the pytest database.

8 members × 20 s of random earn / spend / refund / redeem / cancel / check-in / draw through a real
gunicorn (production settings), a real Celery worker and a Redis of the test's own, while a fault
comes every ~1.5 s: a gunicorn worker SIGKILLed, the Celery worker SIGKILLed and started again, the
app's database connections terminated, the Redis stopped and started. Every invariant must hold and
every kind of fault must really have been injected. About a minute of wall time.
"""

from __future__ import annotations

import pytest

from bench.chaos import FAULT_KINDS, Options, chaos_run, render
from bench.common import celery_broker_set
from tests.conftest import IN_CI
from tests.spare_redis import SpareRedis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery]


@pytest.fixture
def quiet_celery(settings):
    """Jobs queued by the set-up in this process go nowhere: the run's own worker sweeps up what is due."""
    from bench.integration import quiet_celery
    from pointsmall.celery import app

    broker, eager = app.conf.broker_url, app.conf.task_always_eager
    quiet_celery()
    yield
    # Back to the real broker, pooled connections included: later tests' jobs must reach their worker.
    celery_broker_set(broker)
    app.conf.task_always_eager = eager


def test_a_reduced_chaos_run_keeps_every_invariant_and_injects_every_fault(transactional_db, quiet_celery):
    if not SpareRedis.available():
        reason = "needs the redis-server binary (apt-get install redis-server)"
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    options = Options(clients=8, seconds=20, seed=14, fault_every=1.5, gunicorn_workers=2, drain_seconds=15)

    result = chaos_run(options)

    report = render(result, None)
    failed = [check.name for check in result.checks if not check.ok]
    assert not failed, report
    assert set(result.fault_counts()) == set(FAULT_KINDS), report
    # Every member signed in at the start (a refused sign-in once made draws of signed-out members look acked).
    assert result.logins == options.clients, report
    acked = {op.kind for op in result.record.ops if op.outcome == "acked"}
    assert {"earn", "spend (capture)", "refund", "redeem"} <= acked, report
    # A 5xx or a dropped connection is expected only while (or just after) a fault is active.
    assert not result.errors_outside_faults(), report
