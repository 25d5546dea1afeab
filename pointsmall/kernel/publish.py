"""Publishing a Celery job from request or service code, with one per-process pause for the broker.

A broker that refuses connections costs a publish a few milliseconds; one that accepts and never
answers (a stopped or swapped-out Redis) costs it the socket timeouts, about a second or more. Paid
by every commit that publishes, that turned an admin action over 40 orders into 40 s
(docs/decisions/0038). So, like the cache (``pointsmall.cache``), this process leaves the broker
alone for ``settings.JOB_PUBLISH_RETRY_SECONDS`` after a publish failed: what it would have
published is skipped, and picked up by the sweep that owns it (nudges by their retry sweeps, outbox
jobs by the relay sweep). One warning line per pause, no traceback: a broker away is known, not a
bug. Jobs run in-process (``task_always_eager``) have no broker and are never paused.

Beat's sweeps run in the worker, where the broker is, and publish without this helper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import kombu.exceptions
import redis.exceptions
from celery import current_app
from django.conf import settings

from pointsmall.kernel.pause import Pause

logger = logging.getLogger(__name__)

# What a publish raises when the broker is away: kombu's wrapper, redis-py's own errors (the result
# backend every send subscribes to), a refused or timed-out socket.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


_pause = Pause()


def paused() -> bool:
    """Whether this process leaves the broker alone now (see pointsmall.kernel.pause)."""
    return _pause.active()


def pause_reason() -> str:
    """The error that started the current (or last) pause, as ``Type: message``; empty if none."""
    return _pause.reason


def reset() -> None:
    """End any pause (tests; a process that knows the broker is back)."""
    _pause.reset()


def _start_pause(error: BaseException, what: str) -> None:
    seconds = float(settings.JOB_PUBLISH_RETRY_SECONDS)
    if _pause.start(seconds=seconds, reason=_one_line(error)):
        logger.warning(
            "broker unreachable publishing %s (%s); publishing paused %.0f s, the sweeps send what is skipped",
            what,
            _pause.reason,
            seconds,
        )


def publish(send: Callable[[], object], *, what: str) -> bool:
    """Run ``send()`` (a ``.delay()``/``apply_async()``) unless the broker is paused; returns whether
    it was published. A broker error (``BROKER_ERRORS``) starts the pause, is logged once per pause
    and returns False; any other error is a bug and raises. ``what`` names the job in the log line."""
    if current_app.conf.task_always_eager:
        send()
        return True
    if paused():
        return False
    try:
        send()
    except Exception as error:
        if not is_broker_error(error):
            raise
        _start_pause(error, what)
        return False
    return True


def _one_line(error: BaseException) -> str:
    # The result backend's RuntimeError is a paragraph about restarting Celery: name its cause.
    if not isinstance(error, BROKER_ERRORS) and isinstance(error.__cause__, BROKER_ERRORS):
        error = error.__cause__
    return " ".join(f"{type(error).__name__}: {error}".split())[:500]


def is_broker_error(error: BaseException) -> bool:
    """Whether ``error`` says the broker (or the Redis result backend) is away: one of
    ``BROKER_ERRORS``, or the RuntimeError Celery's result backend raises from one when its
    reconnect tries run out."""
    if isinstance(error, BROKER_ERRORS):
        return True
    return isinstance(error, RuntimeError) and isinstance(error.__cause__, BROKER_ERRORS)
