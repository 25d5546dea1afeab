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
