"""Admission control: at most N requests of a kind at work across every server, the rest told at once.

A hot path (the redeem POST of a flash sale) must not accept more work than the servers can
finish within their timeout: a request that waits behind hundreds of others is a request that
times out or is reset when its worker is recycled (issue #18). ``slot("redeem", limit=N)``
holds one of N places for the block; when all N are taken it raises ``BusyError`` at once
(503, "busy, try again in N seconds", with ``Retry-After``: ``pointsmall.admission`` answers it).

The places live in Redis (one sorted set per kind, shared by every worker and every host), so
N is the whole deployment's concurrency, not a per-process guess.

A request that finds every place taken may wait a little for one (``wait``, seconds) before it
is told to come back: a place frees every few tens of milliseconds under a crowd, and a crowd
told "come back in 2 s" all at once comes back all at once — measured, 4 places refusing at
once left them idle between waves and an order took 9–19 s (docs/decisions/0049). The wait
polls Redis with a growing, jittered pause (5 ms up to 50 ms); at most ``max_waiters`` threads of
one process wait at a time, so a worker always keeps threads for cheap requests. Each place carries a deadline
(``ADMISSION_SLOT_SECONDS``, the workers' timeout): a worker killed while holding one (SIGKILL,
OOM) loses it at the deadline instead of leaking it forever. Deadlines use Redis's clock, so
hosts with skewed clocks agree. A place is given back on every way out of the block — return,
refusal, exception — by the context manager.

Without REDIS_URL, or while Redis fails (the kernel ``Pause``, like the flash gate), each process
keeps its own N places (a semaphore): the limit then holds per process, which is looser but
never refuses work because Redis is down.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.pause import Pause

logger = logging.getLogger(__name__)

KEY_PREFIX = "admission:"

# Drop the places whose deadline passed, then take one if fewer than the limit are held.
# Returns 1 when taken, 0 when full. Redis's TIME: one clock for every host.
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


class BusyError(DomainError):
    """Every place of a hot path is taken: try again in ``retry_after`` seconds (503)."""

    code = "busy"
    http_status = 503
    default_message = _("We are very busy right now. Please try again in %(seconds)s seconds.")

    def __init__(self, *, seconds: int) -> None:
        super().__init__(seconds=seconds)
        self.retry_after = seconds


_outage = Pause()
_local_lock = threading.Lock()
_local: dict[str, threading.BoundedSemaphore] = {}
_waiting: dict[str, int] = {}  # kind → threads of this process waiting for a place now

FIRST_PAUSE = 0.005  # seconds between two tries for a place: from this…
LONGEST_PAUSE = 0.05  # …growing by half each time, up to this


def outage_reset() -> None:
    """End the pause after a Redis failure (tests)."""
    _outage.reset()


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    # Short timeouts: admission is asked on every hot request; a slow Redis must not be the queue.
    return redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25, decode_responses=True)


@lru_cache(maxsize=4)
def _acquire_script(url: str) -> Any:
    return _client_for(url).register_script(_ACQUIRE)


def key_for(kind: str) -> str:
    return f"{KEY_PREFIX}{kind}"


def retry_after_seconds() -> int:
    return int(settings.ADMISSION_RETRY_AFTER_SECONDS)


def _local_semaphore(kind: str, limit: int) -> threading.BoundedSemaphore:
    with _local_lock:
        semaphore = _local.get(f"{kind}:{limit}")
        if semaphore is None:
            semaphore = _local[f"{kind}:{limit}"] = threading.BoundedSemaphore(limit)
        return semaphore


def _redis_acquire(kind: str, limit: int, token: str) -> bool | None:
    """True: taken; False: full; None: Redis off or failing (use the process's own places)."""
    url = getattr(settings, "REDIS_URL", "")
    if not url or _outage.active():
        return None
    try:
        taken = _acquire_script(url)(
            keys=[key_for(kind)], args=[limit, int(settings.ADMISSION_SLOT_SECONDS * 1000), token]
        )
    except redis.RedisError as error:
        seconds = float(settings.CACHE_REDIS_RETRY_SECONDS)
        if _outage.start(seconds=seconds, reason=f"{type(error).__name__}: {error}"):
            logger.warning(
                "admission: Redis unavailable (%s); each process keeps its own places for %.0f s",
                _outage.reason,
                seconds,
            )
        return None
    return bool(taken)


def _redis_release(kind: str, token: str) -> None:
    try:
        _client_for(settings.REDIS_URL).zrem(key_for(kind), token)
    except redis.RedisError:
        # The place is freed at its deadline instead.
        logger.warning("admission: could not give back a place of %s; it frees itself at its deadline", kind)


@contextmanager
def _waiter(kind: str, max_waiters: int) -> Iterator[bool]:
    """Count this thread among ``kind``'s waiters of this process; False when ``max_waiters`` already wait."""
    with _local_lock:
        if _waiting.get(kind, 0) >= max_waiters:
            allowed = False
        else:
            _waiting[kind] = _waiting.get(kind, 0) + 1
            allowed = True
    try:
        yield allowed
    finally:
        if allowed:
            with _local_lock:
                _waiting[kind] -= 1


def _redis_acquire_within(kind: str, limit: int, token: str, wait: float, max_waiters: int) -> bool | None:
    """``_redis_acquire``, trying again for up to ``wait`` seconds while every place is taken."""
    taken = _redis_acquire(kind, limit, token)
    if taken is not False or wait <= 0:
        return taken
    with _waiter(kind, max_waiters) as allowed:
        if not allowed:
            return False
        deadline = time.monotonic() + wait
        pause = FIRST_PAUSE
        while taken is False and time.monotonic() < deadline:
            # Jitter: waiters that started together do not all ask again in the same millisecond.
            time.sleep(min(pause * random.uniform(0.5, 1.0), max(deadline - time.monotonic(), 0)))  # noqa: S311
            pause = min(pause * 1.5, LONGEST_PAUSE)
            taken = _redis_acquire(kind, limit, token)
        return taken


@contextmanager
def slot(kind: str, *, limit: int, wait: float = 0.0, max_waiters: int = 1) -> Iterator[None]:
    """Hold one of ``limit`` places of ``kind`` for the block, or raise BusyError.

    ``limit`` ≥ 1 places across every process sharing REDIS_URL (per process without Redis).
    ``wait``: seconds to keep trying while every place is taken (0: refuse at once), by at most
    ``max_waiters`` threads of this process at a time (one more is refused at once). The place is
    given back however the block ends, exceptions included. Not re-entrant: a block that asks
    again for the same kind takes a second place.
    """
    if limit < 1:
        raise ValueError("an admission limit is at least 1")
    token = uuid.uuid4().hex
    taken = _redis_acquire_within(kind, limit, token, wait, max_waiters)
    if taken is False:
        raise BusyError(seconds=retry_after_seconds())
    if taken:
        try:
            yield
        finally:
            _redis_release(kind, token)
        return
    semaphore = _local_semaphore(kind, limit)
    acquired = semaphore.acquire(blocking=False)
    if not acquired and wait > 0:
        with _waiter(kind, max_waiters) as allowed:
            acquired = allowed and semaphore.acquire(timeout=wait)
    if not acquired:
        raise BusyError(seconds=retry_after_seconds())
    try:
        yield
    finally:
        semaphore.release()


def in_use(kind: str) -> int | None:
    """Places of ``kind`` held now across the servers (expired ones excluded), or None without Redis."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    connection = _client_for(url)
    seconds, micros = connection.time()
    return int(connection.zcount(key_for(kind), f"({seconds * 1000 + micros // 1000}", "+inf"))
