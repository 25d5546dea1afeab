"""Liveness and readiness probes for the load balancer and the orchestrator (docs/decisions/0036).

``GET /healthz``: 200 "ok" while the process answers; it touches nothing else, so a database or
Redis outage never gets a healthy web process restarted.

``GET /readyz``: 200 when the database answers, Redis (the cache) answers, the Celery broker
accepts a connection and every migration is applied; otherwise 503. The JSON body names each
check and says "ok" or "unavailable", never why (no host names, no error texts: the reasons go
to the log). The checks run concurrently with django-health-check, each within its time budget.

``HealthProbeMiddleware`` (first in MIDDLEWARE) answers both paths before any other middleware
runs: a probe is not redirected to HTTPS, not checked against ALLOWED_HOSTS (probes come by the
pod's address), reads no session, sets no cookie, needs no CSRF token and is never counted as a
page view. Only GET and HEAD are answered; other methods get 405.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Callable
from typing import ClassVar

from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

LIVE_PATH = "/healthz"
READY_PATH = "/readyz"
# Each check's budget; the whole probe answers within about this (checks run concurrently).
CHECK_SECONDS = 2


@dataclasses.dataclass
class DatabaseCheck(Database):
    """``SELECT 1`` on the default database (django-health-check's own check)."""

    name: ClassVar[str] = "database"
    timeout = datetime.timedelta(seconds=CHECK_SECONDS)


@dataclasses.dataclass
class CacheCheck(HealthCheck):
    """Redis behind the default cache answers a PING. The project's cache answers from a local
    stand-in while Redis is away (pointsmall.cache), so a set/get round trip would pass: the
    server itself is asked. Another backend (local memory without REDIS_URL) does a round trip."""

    name: ClassVar[str] = "cache"
    timeout = datetime.timedelta(seconds=CHECK_SECONDS)

    def run(self) -> None:
        cache = caches["default"]
        redis_available = getattr(cache, "redis_available", None)
        if redis_available is not None:
            if not redis_available():
                raise ServiceUnavailable("Redis does not answer")
            return
        cache.set("health:probe", "ok", 5)
        if cache.get("health:probe") != "ok":
            raise ServiceUnavailable("the cache lost a value")


@dataclasses.dataclass
class BrokerCheck(HealthCheck):
    """The Celery broker accepts a connection (one attempt, no retries): jobs can be queued.
    Whether a worker consumes them is the worker's own probe, not the web's."""

    name: ClassVar[str] = "broker"
    timeout = datetime.timedelta(seconds=CHECK_SECONDS)

    def run(self) -> None:
        from pointsmall.celery import app

        connection = app.connection_for_write(connect_timeout=CHECK_SECONDS)
        try:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_SECONDS)
        except Exception as error:
            raise ServiceUnavailable("the broker does not answer") from error
        finally:
            connection.release()


_migrations_applied = False


@dataclasses.dataclass
class MigrationsCheck(HealthCheck):
    """Every migration of the code running is applied (a release whose migrate has not run yet
    is not ready). Once seen applied it is not asked again in this process: migrations are only
    added by a new release, which is a new process."""

    name: ClassVar[str] = "migrations"
    timeout = datetime.timedelta(seconds=CHECK_SECONDS)

    def run(self) -> None:
        global _migrations_applied
        if _migrations_applied:
            return
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        finally:
            # This runs on a worker thread of its own: its connection is not closed by a request's end.
            connection.close()
        if plan:
            raise ServiceUnavailable(f"{len(plan)} migrations not applied")
        _migrations_applied = True


CHECKS: tuple[type[HealthCheck], ...] = (DatabaseCheck, CacheCheck, BrokerCheck, MigrationsCheck)


async def _results() -> dict[str, str]:
    results = await asyncio.gather(*(check().get_result(None) for check in CHECKS))
    # django-health-check has logged each failure with its reason; the answer only names it.
    return {result.check.name: "unavailable" if result.error else "ok" for result in results}  # type: ignore[attr-defined]


def live(request: HttpRequest) -> HttpResponse:
    """200 "ok": the process answers. Nothing else is touched."""
    response = HttpResponse("ok", content_type="text/plain; charset=utf-8")
    add_never_cache_headers(response)
    return response


def ready(request: HttpRequest) -> HttpResponse:
    """200 {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok",
    "migrations": "ok"}}, or 503 with "status": "unavailable" and the failing checks marked
    "unavailable"."""
    checks = async_to_sync(_results)()
    failed = any(state != "ok" for state in checks.values())
    response = JsonResponse(
        {"status": "unavailable" if failed else "ok", "checks": checks}, status=503 if failed else 200
    )
    add_never_cache_headers(response)
    return response


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {LIVE_PATH: live, READY_PATH: ready}


class HealthProbeMiddleware:
    """Answers /healthz and /readyz before every other middleware (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/") or "/")
        if probe is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return probe(request)
