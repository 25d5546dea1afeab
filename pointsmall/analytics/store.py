"""The live counters: Redis when it answers, the database (RawVisit, RawTiming) when it does not.

Keys, all under ``settings.ANALYTICS_REDIS_PREFIX`` and the business day, expire
``LIVE_DAYS`` days after their last write (the roll-up reads today and yesterday):

    {p}:{day}:pv                hash  page type → views              (HINCRBY)
    {p}:{day}:uv:{page type}    HLL   visitor hashes                  (PFADD)
    {p}:{day}:product:pv        hash  product id → views
    {p}:{day}:product:uv:{id}   HLL   visitor hashes
    {p}:{day}:product:rs        hash  product id → redemption starts
    {p}:{day}:time:n            hash  page type → timed views
    {p}:{day}:time:ms           hash  page type → total visible ms

A view is one pipelined round trip. Redis errors never reach the request: the caller falls back
to the database, and after a failure Redis is left alone for ``ANALYTICS_REDIS_RETRY_SECONDS``
so a dead server costs one timeout, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date

import redis
from django.conf import settings

from pointsmall.analytics.exceptions import StoreUnavailableError

logger = logging.getLogger(__name__)

LIVE_DAYS = 3
TTL_SECONDS = LIVE_DAYS * 24 * 3600

_clients: dict[str, redis.Redis] = {}
_down_until: dict[str, float] = {}
_lock = threading.Lock()


def redis_configured() -> bool:
    return bool(settings.REDIS_URL)


def client() -> redis.Redis:
    """The Redis client for ``settings.REDIS_URL`` with short timeouts; raises StoreUnavailableError
    while a recent failure is within its retry pause."""
    url = settings.REDIS_URL
    if time.monotonic() < _down_until.get(url, 0.0):
        raise StoreUnavailableError(url)
    with _lock:
        found = _clients.get(url)
        if found is None:
            timeout = settings.ANALYTICS_REDIS_TIMEOUT_SECONDS
            found = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
            _clients[url] = found
    return found


def mark_down(error: Exception) -> None:
    """Remember that Redis failed; it is tried again after the retry pause."""
    _down_until[settings.REDIS_URL] = time.monotonic() + settings.ANALYTICS_REDIS_RETRY_SECONDS
    logger.warning("analytics: Redis unavailable, counting in the database for now: %s", error)


def reset() -> None:
    """Forget clients and failures (tests, and a settings change)."""
    _clients.clear()
    _down_until.clear()


def key(day: date, *parts: object) -> str:
    return ":".join([settings.ANALYTICS_REDIS_PREFIX, day.isoformat(), *(str(part) for part in parts)])


def redis_view(*, day: date, page_type: str, visitor: str, product_id: int | None, redeem_start: bool) -> None:
    """Count one view in Redis, one round trip: a product page's view also for its product, a
    redemption start for its product. Raises StoreUnavailableError or redis.RedisError."""
    touched = [key(day, "pv"), key(day, "uv", page_type)]
    pipe = client().pipeline(transaction=False)
    pipe.hincrby(touched[0], page_type, 1)
    pipe.pfadd(touched[1], visitor)
    if product_id is not None and page_type == "product":
        touched += [key(day, "product", "pv"), key(day, "product", "uv", product_id)]
        pipe.hincrby(touched[2], str(product_id), 1)
        pipe.pfadd(touched[3], visitor)
    if product_id is not None and redeem_start:
        touched.append(key(day, "product", "rs"))
        pipe.hincrby(touched[-1], str(product_id), 1)
    for name in touched:
        pipe.expire(name, TTL_SECONDS)
    pipe.execute()


def redis_timing(*, day: date, page_type: str, milliseconds: int) -> None:
    """Add one time-on-page sample in Redis, one round trip."""
    count_key, total_key = key(day, "time", "n"), key(day, "time", "ms")
    pipe = client().pipeline(transaction=False)
    pipe.hincrby(count_key, page_type, 1)
    pipe.hincrby(total_key, page_type, milliseconds)
    pipe.expire(count_key, TTL_SECONDS)
    pipe.expire(total_key, TTL_SECONDS)
    pipe.execute()


def _ints(mapping: dict) -> dict[str, int]:
    return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in mapping.items()}


def redis_day(
    *, day: date, page_visitors: dict[str, list[str]], product_visitors: dict[int, list[str]]
) -> dict[str, dict]:
    """Read one day's counters, first folding the database fallback's visitors into the HLLs
    (PFADD is idempotent, so unique visitors stay one count whichever store saw them).

    Returns {"pv", "uv", "product_pv", "product_uv", "product_rs", "time_n", "time_ms"}.
    """
    conn = client()
    pipe = conn.pipeline(transaction=False)
    for page_type, visitors in page_visitors.items():
        pipe.pfadd(key(day, "uv", page_type), *visitors)
        pipe.expire(key(day, "uv", page_type), TTL_SECONDS)
    for product_id, visitors in product_visitors.items():
        pipe.pfadd(key(day, "product", "uv", product_id), *visitors)
        pipe.expire(key(day, "product", "uv", product_id), TTL_SECONDS)
    pipe.hgetall(key(day, "pv"))
    pipe.hgetall(key(day, "product", "pv"))
    pipe.hgetall(key(day, "product", "rs"))
    pipe.hgetall(key(day, "time", "n"))
    pipe.hgetall(key(day, "time", "ms"))
    pv, product_pv, product_rs, time_n, time_ms = pipe.execute()[-5:]
    pv, product_pv = _ints(pv), _ints(product_pv)
    page_types = sorted(set(pv) | set(page_visitors))
    product_ids = sorted({int(p) for p in product_pv} | set(product_visitors))
    pipe = conn.pipeline(transaction=False)
    for page_type in page_types:
        pipe.pfcount(key(day, "uv", page_type))
    for product_id in product_ids:
        pipe.pfcount(key(day, "product", "uv", product_id))
    counts = pipe.execute()
    return {
        "pv": pv,
        "uv": dict(zip(page_types, counts[: len(page_types)], strict=True)),
        "product_pv": {int(k): v for k, v in product_pv.items()},
        "product_uv": dict(zip(product_ids, counts[len(page_types) :], strict=True)),
        "product_rs": {int(k): v for k, v in _ints(product_rs).items()},
        "time_n": _ints(time_n),
        "time_ms": _ints(time_ms),
    }
