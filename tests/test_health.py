"""/healthz (the process answers) and /readyz (database, Redis, broker, migrations) for probes."""

from __future__ import annotations

import json

import pytest
from django.db.migrations.executor import MigrationExecutor

from pointsmall import health
from pointsmall.analytics.models import RawVisit

pytestmark = pytest.mark.django_db

ALL_OK = {"database": "ok", "cache": "ok", "broker": "ok", "migrations": "ok"}


@pytest.fixture(autouse=True)
def _migrations_not_yet_seen(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_healthz_answers_ok_without_asking_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.content, response["Content-Type"]) == (
        200,
        b"ok",
        "text/plain; charset=utf-8",
    )
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_200_when_everything_is_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "checks": ALL_OK}


@pytest.mark.redis
def test_readyz_is_503_naming_the_cache_while_redis_is_dead_and_200_once_it_is_back(client, spare_redis):
    assert client.get("/readyz").status_code == 200
    spare_redis.stop()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "checks": ALL_OK | {"cache": "unavailable"}}
    spare_redis.start()
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_naming_migrations_while_some_are_not_applied(client, monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("pending", False)])

    response = client.get("/readyz")

    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "checks": ALL_OK | {"migrations": "unavailable"}}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/healthz/"])
def test_probes_need_no_login_no_known_host_and_leave_no_trace(client, settings, path):
    """A probe comes by the pod's address, over plain HTTP, without cookies: it is answered
    anyway, sets no cookie and is not counted as a page view."""
    settings.ALLOWED_HOSTS = ["mall.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get(path, HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200
    assert response.cookies == {}
    assert not response.has_header("Vary")
    assert RawVisit.objects.count() == 0


def test_probes_answer_only_get_and_head(client):
    assert client.head("/healthz").status_code == 200
    response = client.post("/readyz")
    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD")
