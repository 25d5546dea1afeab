"""Every Celery job is declared with pointsmall.kernel.jobs.job (docs/decisions/0039): it says why
it is idempotent, is acknowledged late and put back when its worker dies, has time limits inside
the visibility timeout and retries passing errors with back-off. A job added with a bare
``shared_task`` fails here."""

from __future__ import annotations

import pytest
from celery import Celery
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pointsmall.celery import app as celery_app
from pointsmall.kernel import jobs
from tests.processes import settings_load_error


def problems(task) -> list[str]:
    """What is missing from ``task``'s declaration (empty: declared as every job must be)."""
    found = []
    reason = getattr(task, "idempotent", None)
    if not isinstance(reason, str) or not reason.strip():
        found.append("no idempotent= reason")
    if not task.acks_late:
        found.append("acks_late off")
    if not task.reject_on_worker_lost:
        found.append("reject_on_worker_lost off")
    soft, hard = task.soft_time_limit, task.time_limit
    if not (soft and hard and 0 < soft < hard < settings.JOB_VISIBILITY_TIMEOUT):
        found.append(f"time limits {soft}/{hard} not 0 < soft < hard < {settings.JOB_VISIBILITY_TIMEOUT}")
    retried = tuple(getattr(task, "autoretry_for", ()))
    if not set(jobs.TRANSIENT_ERRORS) <= set(retried):
        found.append("passing errors not retried")
    backoff_max = getattr(task, "retry_backoff_max", None)
    if not getattr(task, "retry_backoff", None) or not getattr(task, "retry_jitter", False):
        found.append("no back-off with jitter")
    elif not backoff_max or backoff_max > settings.JOB_VISIBILITY_TIMEOUT // 2:
        found.append(f"back-off up to {backoff_max} s: past half the visibility timeout")
    if not task.max_retries or task.max_retries < 1:
        found.append("no retries")
    return found


def project_tasks() -> dict:
    # What a worker loads at start: every app's jobs module and CELERY_IMPORTS.
    celery_app.loader.import_default_modules()
    return {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}


def test_every_registered_job_is_declared_idempotent_with_limits_and_retries():
    tasks = project_tasks()
    assert len(tasks) >= 25  # every app's jobs are loaded, not an empty registry passing trivially
    undeclared = {name: found for name, task in sorted(tasks.items()) if (found := problems(task))}
    assert undeclared == {}


def test_a_job_declared_with_a_bare_shared_task_is_caught():
    scratch = Celery("scratch", set_as_current=False)

    @scratch.task(name="scratch.bare", acks_late=True)
    def bare() -> None:
        return None

    assert problems(bare) == [
        "no idempotent= reason",
        "reject_on_worker_lost off",
        "time limits None/None not 0 < soft < hard < " + str(settings.JOB_VISIBILITY_TIMEOUT),
        "passing errors not retried",
        "no back-off with jitter",
    ]


def test_the_ledger_sweeps_get_the_long_limits_and_the_others_the_defaults():
    tasks = project_tasks()
    long_limits = (settings.JOB_LONG_SOFT_TIME_LIMIT, settings.JOB_LONG_TIME_LIMIT)
    default = (settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT)
    assert (tasks["points.expire"].soft_time_limit, tasks["points.expire"].time_limit) == long_limits
    assert (tasks["dashboard.rollup"].soft_time_limit, tasks["dashboard.rollup"].time_limit) == default
    assert (tasks["points.holds_expire"].soft_time_limit, tasks["points.holds_expire"].time_limit) == (50, 60)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"idempotent": "  "}, "say why it is idempotent"),
        ({"idempotent": "x", "soft_time_limit": 10}, "both time limits or neither"),
        ({"idempotent": "x", "soft_time_limit": 20, "time_limit": 10}, "need 0 < soft_time_limit"),
    ],
)
def test_a_job_without_a_reason_or_with_limits_out_of_order_is_refused(options, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        jobs.job(name="scratch.refused", **options)


def test_a_job_whose_own_limit_reaches_the_visibility_timeout_is_warned_about():
    with pytest.warns(RuntimeWarning, match="handed to a second worker"):
        jobs.job(name="scratch.slow", idempotent="x", soft_time_limit=10, time_limit=10**6)


def test_retry_waits_are_capped_below_the_visibility_timeout(settings):
    settings.JOB_VISIBILITY_TIMEOUT = 60
    assert jobs.retry_backoff_max() == 30
    assert all(0 <= jobs.retry_countdown(retries, base=30) <= 30 for retries in range(10))
    settings.JOB_VISIBILITY_TIMEOUT = 1800
    assert jobs.retry_backoff_max() == jobs.RETRY_BACKOFF_MAX


def test_settings_refuse_a_visibility_timeout_shorter_than_a_hard_limit():
    refusal = settings_load_error(CELERY_VISIBILITY_TIMEOUT_SECONDS="600", CELERY_LONG_TASK_TIME_LIMIT_SECONDS="900")
    assert "CELERY_LONG_TASK_TIME_LIMIT_SECONDS" in refusal


def test_redis_redelivers_after_the_visibility_timeout_and_looks_often_enough():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["visibility_timeout"] == settings.JOB_VISIBILITY_TIMEOUT
    assert settings.JOB_VISIBILITY_TIMEOUT <= 3600 / 2  # minutes, not kombu's hour
    assert options["unacked_restore_throttle"] == 1
    assert options["unacked_restore_interval"] <= settings.JOB_VISIBILITY_TIMEOUT / 10 + 1
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_TASK_ACKS_LATE is True
