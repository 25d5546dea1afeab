"""The Django cache on Redis that degrades instead of failing when Redis is away (docs/decisions/0036).

``ResilientRedisCache`` is Django's own ``RedisCache`` with one difference: a connection error,
a timeout or a read-only replica never reaches the caller. Instead, for ``retry_seconds`` (the
``OPTIONS`` key; ``CACHE_REDIS_RETRY_SECONDS``) this process leaves Redis alone — a dead server
costs one short timeout per pause, not one per call — and answers from a local stand-in:

* **Sessions** (keys under the ``cached_db`` session engine's prefix): every read is a miss and
  every write or delete is skipped, so the session engine reads and writes the database, which
  always holds the truth. They are never kept in the stand-in: a sign-out in another process
  could not remove them from this one's memory.
* **Everything else** (rate-limit counters of allauth and django-ratelimit, the leaderboard's
  cached top list): a per-process ``LocMemCache``. Limits keep counting, per process, so a
  throttle never becomes unlimited; caches are rebuilt locally.

After a pause, before any call reaches Redis again, every cached session in Redis is deleted
(a session ended or changed during the outage — a sign-out — still has its old copy there when
Redis kept its data, as in a network partition) and the stand-in is emptied (its counters
restart in Redis). Sessions are then re-read from the database once. Errors other than the connection kind
(a wrong type, a script error) are bugs and still raise.

The outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import redis
from django.contrib.sessions.backends.cached_db import KEY_PREFIX as SESSION_KEY_PREFIX
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# What an unreachable Redis raises: refused or reset connections, timeouts, a server still
# loading its data (BusyLoadingError is a ConnectionError), a failed-over replica that is read-only.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError)

DEFAULT_RETRY_SECONDS = 5.0
# The stand-in's size: past it LocMemCache culls a third of its keys. Rate-limit counters are a
# few keys per client, so this holds the counters of thousands of clients per process.
FALLBACK_MAX_ENTRIES = 10_000
SESSION_SCAN_BATCH = 500


class _Outage:
    """One Redis location's state in this process, shared by every thread's cache object."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False
        self.recovering = False
        self.since = 0.0
        self.until = 0.0

    def paused(self) -> bool:
        """Whether Redis is to be left alone now. The wall clock, not the monotonic one, so a
        test can move past the pause with time_machine; a clock set back ends the pause."""
        now = time.time()
        return self.down and self.since <= now < self.until


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


def _is_session(key: str) -> bool:
    return key.startswith(SESSION_KEY_PREFIX)


class ResilientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that falls back instead of raising when
    Redis does not answer (see the module docstring). ``OPTIONS`` takes ``retry_seconds``
    besides the redis-py connection options (``socket_timeout``, ``socket_connect_timeout``…);
    redis-py's own retries are cut to one immediate retry (a pooled connection that a Redis
    restart closed) unless ``retry`` is given."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self._retry_seconds = float(options.pop("retry_seconds", DEFAULT_RETRY_SECONDS))
        options.setdefault("retry", Retry(NoBackoff(), 1))
        super().__init__(server, {**params, "OPTIONS": options})
        self._location = server if isinstance(server, str) else ",".join(server)
        self._outage = _outage_for(self._location)
        # LocMemCache keeps its data per name at module level: every thread's object shares it.
        self._fallback = LocMemCache(
            f"pointsmall.cache.fallback:{self._location}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES},
            },
        )

    # --- outage bookkeeping -------------------------------------------------------

    def redis_available(self) -> bool:
        """Whether Redis answers a PING now (readiness probes). Ignores the pause and does not
        change it: a probe must tell the truth without moving this process's traffic."""
        try:
            return bool(self._cache.get_client(write=True).ping())
        except OUTAGE_ERRORS:
            return False

    def _use_redis(self) -> bool:
        return not self._outage.paused()

    def _failed(self, error: Exception) -> None:
        outage = self._outage
        with outage.lock:
            started = not outage.down
            outage.down = True
            outage.since = time.time()
            outage.until = outage.since + self._retry_seconds
        if started:
            logger.warning(
                "cache: Redis unavailable (%s); sessions from the database, counters in this process, "
                "retrying every %gs",
                error,
                self._retry_seconds,
            )

    def _recovered(self) -> bool:
        """After a pause: whether Redis may be used again. Before any other call reaches Redis,
        every cached session there is deleted and the stand-in emptied; one thread does it while
        the others keep to the stand-in. Raises what an unreachable Redis raises."""
        outage = self._outage
        if not outage.down:
            return True
        with outage.lock:
            if not outage.down:
                return True
            if outage.recovering:
                return False
            outage.recovering = True
        try:
            dropped = self._drop_cached_sessions()
        finally:
            with outage.lock:
                outage.recovering = False
        self._fallback.clear()
        with outage.lock:
            outage.down = False
        logger.warning("cache: Redis is back; %d cached sessions dropped, counters restart in Redis", dropped)
        return True

    def _drop_cached_sessions(self) -> int:
        """Delete every cached session in Redis; the session engine re-reads them from the database."""
        client = self._cache.get_client(write=True)
        pattern = self.make_key(SESSION_KEY_PREFIX) + "*"
        dropped = 0
        batch: list[Any] = []
        for key in client.scan_iter(match=pattern, count=SESSION_SCAN_BATCH):
            batch.append(key)
            if len(batch) >= SESSION_SCAN_BATCH:
                dropped += client.delete(*batch)
                batch = []
        if batch:
            dropped += client.delete(*batch)
        return dropped

    def _redis(self, method: str, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """Call RedisCache's ``method``; (True, its result), or (False, None) when Redis is away."""
        if not self._use_redis():
            return False, None
        try:
            if not self._recovered():
                return False, None
            result = getattr(super(), method)(*args, **kwargs)
        except OUTAGE_ERRORS as error:
            self._failed(error)
            return False, None
        return True, result

    # --- the cache API ------------------------------------------------------------

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        ok, result = self._redis("add", key, value, timeout, version)
        if ok:
            return bool(result)
        if _is_session(key):
            return False
        return self._fallback.add(key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        ok, result = self._redis("get", key, default, version)
        if ok:
            return result
        if _is_session(key):
            return default
        return self._fallback.get(key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        ok, _ = self._redis("set", key, value, timeout, version)
        if not ok and not _is_session(key):
            self._fallback.set(key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        ok, result = self._redis("touch", key, timeout, version)
        if ok:
            return bool(result)
        if _is_session(key):
            return False
        return self._fallback.touch(key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        ok, result = self._redis("delete", key, version)
        if ok:
            return bool(result)
        if _is_session(key):
            # Redis keeps its copy until the outage ends, when every cached session is dropped.
            return False
        return self._fallback.delete(key, version)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        ok, result = self._redis("get_many", keys, version)
        if ok:
            return dict(result)
        return self._fallback.get_many([key for key in keys if not _is_session(key)], version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        ok, result = self._redis("has_key", key, version)
        if ok:
            return bool(result)
        if _is_session(key):
            return False
        return self._fallback.has_key(key, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        ok, result = self._redis("incr", key, delta, version)
        if ok:
            return int(result)
        # A missing key raises ValueError, as every backend does; sessions are never counters.
        return self._fallback.incr(key, delta, version)

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        ok, result = self._redis("set_many", data, timeout, version)
        if ok:
            return list(result)
        return self._fallback.set_many({k: v for k, v in data.items() if not _is_session(k)}, timeout, version)

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        keys = list(keys)
        ok, _ = self._redis("delete_many", keys, version)
        if not ok:
            self._fallback.delete_many([key for key in keys if not _is_session(key)], version)

    def clear(self) -> None:
        self._redis("clear")
        self._fallback.clear()


def reset() -> None:
    """Forget every outage in this process (tests, after pointing the cache elsewhere)."""
    with _outages_lock:
        for outage in _outages.values():
            with outage.lock:
                outage.down = False


# --- Versioned fragments (docs/decisions/0048) -------------------------------------------------
#
# What many members see alike (the catalog's cards, the home page's shelves, banners) is cached
# under a *generation*: a random token per name ("catalog", "content"), kept in the cache. Every
# write that changes what such a page shows calls ``generation_bump`` (after its commit), which
# deletes the token, so the next reader draws a new one and every fragment of the old one is
# never read again (they age out). Two bounds keep a missed bump or a cache outage (each process
# then keeps its own tokens in memory) from serving stale pages for long: a token lives at most
# GENERATION_MAX_SECONDS, and never past the next instant the caller says the pages change by
# themselves (a flash sale opening, a sale price ending); a fragment lives at most
# FRAGMENT_SECONDS.

GENERATION_MAX_SECONDS = 60
FRAGMENT_SECONDS = 60


def _cache_get(key: str) -> Any:
    """``cache.get(key)``, or None when the cache's Redis does not answer. The project's backend
    (ResilientRedisCache) already falls back; this keeps a page cache from ever failing a page
    or a write under any backend whose server is away: the page is then built uncached."""
    from django.core.cache import cache

    try:
        return cache.get(key)
    except OUTAGE_ERRORS:
        return None


def _cache_call(method: str, *args: Any, **kwargs: Any) -> None:
    """``cache.<method>(...)`` (set, delete), skipped when the cache's Redis does not answer."""
    from django.core.cache import cache

    with contextlib.suppress(*OUTAGE_ERRORS):
        getattr(cache, method)(*args, **kwargs)


def _generation_key(name: str) -> str:
    return f"pm:generation:{name}"


def generation(name: str, *, next_change: Callable[[], datetime | None] | None = None) -> str:
    """The current token of ``name`` (a short hex string). When there is none (first read, after
    a bump, or past its time) a new one is drawn and kept until ``next_change()`` (an aware
    datetime or None; called only then, so it may query) or GENERATION_MAX_SECONDS, whichever
    comes first."""
    key = _generation_key(name)
    now = time.time()
    held = _cache_get(key)
    if held is not None and held[1] > now:
        return held[0]
    until = now + GENERATION_MAX_SECONDS
    changes = next_change() if next_change is not None else None
    if changes is not None:
        until = min(until, changes.timestamp())
    token = secrets.token_hex(8)
    if until > now:
        _cache_call("set", key, (token, until), timeout=max(1, math.ceil(until - now)))
    return token


def generation_bump(name: str) -> None:
    """Retire ``name``'s token now and again once the current transaction commits, so pages read
    after the write are rebuilt from it. Now: the writer's own next read (same transaction) sees
    its write. After the commit: another reader may have drawn a token and cached what it read
    before the commit in between. Safe to call many times in one write."""
    from django.db import transaction

    key = _generation_key(name)
    _cache_call("delete", key)
    transaction.on_commit(lambda: _cache_call("delete", key))


def fragment(name: str, token: str, parts: tuple, build: Callable[[], Any], *, timeout: int = FRAGMENT_SECONDS) -> Any:
    """``build()``'s result cached under ``name``'s ``token`` and ``parts`` (everything the result
    depends on besides the generation: the language, the member's price tier, the query...).
    ``build`` must return something picklable and never None."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    key = f"pm:fragment:{name}:{token}:{digest}"
    value = _cache_get(key)
    if value is None:
        value = build()
        _cache_call("set", key, value, timeout=timeout)
    return value
