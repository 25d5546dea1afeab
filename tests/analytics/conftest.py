"""Traffic fixtures: the counters in a live Redis (own key prefix per test), in the database
(no REDIS_URL, the SQLite demo's case) or behind a dead Redis port (fallback)."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from pointsmall.analytics import store

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The beacon's rate limits count in the cache, per visitor and per client address (every
    test client is 127.0.0.1): each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def live_redis(settings):
    """Counters in the real Redis under a prefix of this test's own; its keys are deleted after."""
    prefix = settings.ANALYTICS_REDIS_PREFIX = f"test:analytics:{uuid.uuid4().hex}"
    url = settings.REDIS_URL  # a test may point REDIS_URL at a dead port meanwhile
    store.reset()
    yield
    conn = redis.Redis.from_url(url)
    keys = list(conn.scan_iter(f"{prefix}:*"))
    if keys:
        conn.delete(*keys)
    store.reset()


@pytest.fixture
def no_redis(settings):
    settings.REDIS_URL = ""
    store.reset()
    yield
    store.reset()


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "database"])
def counters(request):
    """Each counting test runs against Redis and against the database fallback."""
    request.getfixturevalue("live_redis" if request.param == "redis" else "no_redis")
    return request.param


@pytest.fixture
def browser(db) -> Client:
    """An anonymous visitor in a real browser (a User-Agent that is not a bot); keeps its cookies."""
    return Client(headers={"user-agent": BROWSER})


@pytest.fixture
def make_browser(db):
    return lambda: Client(headers={"user-agent": BROWSER})
