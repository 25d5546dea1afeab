"""Test-wide fixtures and the policy for tests that need a real service.

A test marked ``postgres``, ``redis``, ``celery`` or ``e2e`` runs when its service is
there. When it is missing the test is skipped with the reason, except in CI (CI=true),
where a missing service is a failure: CI must never go green by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import MemberFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"


def _redis_up() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _missing(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return "needs Postgres: set DATABASE_URL=postgres://..."
    if (item.get_closest_marker("redis") or item.get_closest_marker("celery")) and not _redis_up():
        return "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0"
    if item.get_closest_marker("e2e") and not shutil.which(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing(item)
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true but the service is missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploads land in a per-test folder, so a test can assert exactly which files were written."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def celery_worker(transactional_db):
    """A real worker thread consuming from Redis (mark the test ``celery``); results come back
    through Redis too. Jobs queued while it runs are executed by it, not in-process."""
    from celery.contrib.testing.worker import start_worker

    from pointsmall.celery import app as celery_app

    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture
def spare_redis(settings):
    """A Redis of the test's own (tests/spare_redis.py) behind the cache (as production configures
    it), the cached_db sessions, the flash gate and the analytics counters; ``.stop()`` kills it to
    simulate an outage, ``.start()`` brings it back empty. Killed at the end whatever happened.
    Mark the test ``redis``."""
    from pointsmall import cache as resilient_cache
    from pointsmall.analytics import store as analytics_store
    from tests.spare_redis import RETRY_SECONDS, SpareRedis

    if not SpareRedis.available():
        reason = "needs the redis-server binary (apt-get install redis-server)"
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    server = SpareRedis()
    server.start()
    settings.REDIS_URL = server.url
    # Changing CACHES makes Django drop its cache connections (django.test.signals).
    settings.CACHES = {
        "default": {
            "BACKEND": "pointsmall.cache.ResilientRedisCache",
            "LOCATION": server.url,
            "OPTIONS": {
                "socket_connect_timeout": 0.25,
                "socket_timeout": 0.25,
                "retry_seconds": RETRY_SECONDS,
            },
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    resilient_cache.reset()
    analytics_store.reset()
    try:
        yield server
    finally:
        server.stop()
        resilient_cache.reset()
        analytics_store.reset()


@pytest.fixture(autouse=True)
def _outage_pauses_off():
    """A publish or a flash-gate call that failed in one test pauses that service in the process
    (pointsmall.kernel.pause): every test starts and ends with those pauses off."""
    from catalog import flash_gate
    from pointsmall.kernel import publish

    publish.reset()
    flash_gate.outage_reset()
    yield
    publish.reset()
    flash_gate.outage_reset()


@pytest.fixture(autouse=True)
def _page_caches_empty():
    """The pages' cached fragments (docs/decisions/0048) outlive a test's rolled-back rows, and
    SQLite reuses their ids: every test starts with an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def member(db):
    return MemberFactory()


@pytest.fixture
def other_member(db):
    return MemberFactory()


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    """Tests assert English messages unless they ask for Chinese (Accept-Language or override)."""
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users and PINs; the production hasher's cost is not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


_OUR_APPS = {"accounts", "points", "catalog", "tasks", "lottery", "content", "analytics", "dashboard"}
_migration_state: dict = {}


def _restore_reference_data() -> None:
    """Recreate what migrations put in an empty database: the Site, content types and
    permissions (post_migrate), then our apps' data migrations (tiers, rules, policies,
    staff groups). Every one of those functions is idempotent."""
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.operations.special import RunPython

    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    if not _migration_state:
        executor = MigrationExecutor(connection)
        graph = executor.loader.graph
        plan: list[tuple[str, str]] = []
        for leaf in graph.leaf_nodes():
            plan += [key for key in graph.forwards_plan(leaf) if key[0] in _OUR_APPS and key not in plan]
        functions = [op.code for key in plan for op in graph.nodes[key].operations if isinstance(op, RunPython)]
        _migration_state["apps"] = executor.loader.project_state().apps
        _migration_state["functions"] = functions
    for function in _migration_state["functions"]:
        function(_migration_state["apps"], None)


@pytest.fixture(autouse=True)
def _reference_data_in_transactional_tests(request):
    """Transactional tests (threads, live server, Celery worker) start from a flushed database.

    Their teardown truncates every table, including what data migrations created; each such
    test therefore puts the reference data back first, so it sees the mall as migrated.
    """
    marker = request.node.get_closest_marker("django_db")
    by_marker = marker is not None and bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    by_fixture = any(name in request.fixturenames for name in ("transactional_db", "live_server"))
    if by_marker or by_fixture:
        request.getfixturevalue("transactional_db")
        _restore_reference_data()
    yield
