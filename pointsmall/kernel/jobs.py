"""Celery jobs are declared here, in one place (docs/decisions/0039).

``@job(name=…, idempotent="why")`` is ``shared_task`` with the project's delivery rules:

- at least once: acknowledged after the job ran (``acks_late``), put back on the queue when
  its worker process dies (``reject_on_worker_lost``), redelivered by Redis when nobody
  acknowledged it within ``settings.JOB_VISIBILITY_TIMEOUT``. So a job may run twice, or twice
  at once; ``idempotent`` is the sentence that says why that is safe (claims, state checks,
  idempotency keys…), and a job without one is refused when its module is imported;
- time limits: the settings' defaults (``CELERY_TASK_[SOFT_]TIME_LIMIT``), the long ones
  (``JOB_LONG_[SOFT_]TIME_LIMIT``) with ``long=True``, or the job's own, all inside the
  visibility timeout (past it, a job still running is handed to a second worker);
- retries: errors that pass by themselves (the database or the broker going away, a deadlock)
  are retried up to ``MAX_RETRIES`` times with exponential back-off and full jitter, capped
  by ``retry_backoff_max()``; a job adds its own with ``retry_for``. Other errors fail the job
  once: a bug does not loop.

tests/test_jobs_declared.py walks every registered task and fails on one declared otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError

# Errors a later attempt can get past: the database went away or refused for now (connection
# lost, deadlock, lock or statement timeout: Django's OperationalError), the broker or Redis
# went away while the job published or read.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
MAX_RETRIES = 5
# The first retry waits up to RETRY_BACKOFF seconds, then 2×, 4×… (full jitter: a random wait
# up to that), at most retry_backoff_max().
RETRY_BACKOFF = 5
RETRY_BACKOFF_MAX = 300


def retry_backoff_max() -> int:
    """The longest wait before a retry, in seconds: ``RETRY_BACKOFF_MAX``, and never more than half
    the visibility timeout (a waiting retry is an unacknowledged message: past the timeout, Redis
    would hand it to a second worker too)."""
    return max(1, min(RETRY_BACKOFF_MAX, int(settings.JOB_VISIBILITY_TIMEOUT) // 2))


def retry_countdown(retries: int, *, base: int) -> int:
    """The wait in seconds before retry number ``retries`` + 1 of a job that retries by hand
    (``self.retry(countdown=…)``): ``base`` × 2^retries with full jitter, at most ``retry_backoff_max()``."""
    return get_exponential_backoff_interval(factor=base, retries=retries, maximum=retry_backoff_max(), full_jitter=True)


def job(
    *,
    name: str,
    idempotent: str,
    long: bool = False,
    soft_time_limit: int | None = None,
    time_limit: int | None = None,
    retry_for: tuple[type[BaseException], ...] = (),
    max_retries: int = MAX_RETRIES,
    bind: bool = False,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery job (see the module docstring). ``idempotent``: why running it twice, or
    twice at once, has one effect. ``long``: the long limits (a pass over the whole ledger);
    ``soft_time_limit``/``time_limit``: the job's own limits instead (both or neither).
    Raises ImproperlyConfigured on a missing reason or limits out of order; warns (RuntimeWarning)
    when the hard limit reaches the visibility timeout."""
    if not idempotent.strip():
        raise ImproperlyConfigured(f"job {name}: say why it is idempotent")
    if (soft_time_limit is None) != (time_limit is None):
        raise ImproperlyConfigured(f"job {name}: give both time limits or neither")
    if soft_time_limit is None or time_limit is None:
        soft_time_limit, time_limit = (
            (settings.JOB_LONG_SOFT_TIME_LIMIT, settings.JOB_LONG_TIME_LIMIT)
            if long
            else (settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT)
        )
    if not 0 < soft_time_limit < time_limit:
        raise ImproperlyConfigured(
            f"job {name}: need 0 < soft_time_limit ({soft_time_limit}) < time_limit ({time_limit})"
        )
    if time_limit >= settings.JOB_VISIBILITY_TIMEOUT:
        # The settings refuse default limits past the timeout; a job's own limit is only warned
        # about here (a short timeout, as the worker-kill test sets, is no reason to stop every
        # job) and tests/test_jobs_declared.py holds it to the production default.
        warnings.warn(
            f"job {name}: its hard time limit ({time_limit} s) reaches the visibility timeout"
            f" ({settings.JOB_VISIBILITY_TIMEOUT} s): a run that long is handed to a second worker too",
            RuntimeWarning,
            stacklevel=2,
        )
    # Through a plain mapping: ``idempotent`` is our own task attribute, which celery's typed
    # overloads of shared_task do not know.
    options: dict[str, Any] = {
        "name": name,
        "bind": bind,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "soft_time_limit": soft_time_limit,
        "time_limit": time_limit,
        "autoretry_for": TRANSIENT_ERRORS + retry_for,
        "retry_backoff": RETRY_BACKOFF,
        "retry_backoff_max": retry_backoff_max(),
        "retry_jitter": True,
        "max_retries": max_retries,
        # Read by tests/test_jobs_declared.py and the decision's table; Celery ignores it.
        "idempotent": idempotent,
    }
    decorator: Callable[[Callable[..., Any]], Any] = shared_task(**options)
    return decorator
