"""Traffic analytics benchmark (issue #12): what the page-view middleware adds to one request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python -m bench.analytics [--requests 2000]

It runs ``PageViewMiddleware`` around a view that returns a small HTML page, with the request
already resolved (so only the middleware's own work is timed), in four set-ups: no counting
(a bot's User-Agent), Redis, the database fallback (no REDIS_URL) and a dead Redis (the retry
pause is open, so it goes straight to the database). It prints a table of microseconds per
request. Its counters use their own Redis prefix and a day far in the past, and it deletes
exactly what it wrote, so it is safe on any database. It never fails on a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import date

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402

from pointsmall.analytics import store  # noqa: E402
from pointsmall.analytics.middleware import PageViewMiddleware  # noqa: E402
from pointsmall.analytics.models import RawVisit  # noqa: E402

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
BENCH_DAY = date(2000, 1, 1)


def _page(request) -> HttpResponse:
    return HttpResponse("<!DOCTYPE html><title>x</title>", content_type="text/html; charset=utf-8")


def _run(requests: int, user_agent: str) -> list[float]:
    factory = RequestFactory()
    middleware = PageViewMiddleware(_page)
    match = resolve("/mall/products/")
    samples = []
    for n in range(requests):
        request = factory.get("/mall/products/", HTTP_USER_AGENT=user_agent)
        request.user = AnonymousUser()
        request.COOKIES["pm_vid"] = f"{n % 500:032x}"  # 500 returning visitors
        request.resolver_match = match
        start = time.perf_counter()
        middleware.process_view(request, _page, (), {})
        middleware(request)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    import pointsmall.analytics.services as services

    # Every view lands on the bench day, never on a real one.
    services.business_date = lambda moment=None: BENCH_DAY  # type: ignore[assignment]
    settings.ANALYTICS_REDIS_PREFIX = f"bench:analytics:{uuid.uuid4().hex}"
    redis_url = settings.REDIS_URL
    rows = []
    setups = [("not counted (bot)", redis_url, "Googlebot/2.1")]
    if redis_url:
        setups.append(("Redis", redis_url, BROWSER))
    setups += [("database fallback (no REDIS_URL)", "", BROWSER)]
    if redis_url:
        setups.append(("dead Redis (retry pause open)", "redis://127.0.0.1:1/0", BROWSER))
    try:
        for label, url, user_agent in setups:
            settings.REDIS_URL = url
            store.reset()
            _run(50, user_agent)  # warm-up: connections, first queries
            samples = sorted(_run(args.requests, user_agent))
            rows.append(
                (
                    label,
                    statistics.mean(samples),
                    samples[len(samples) // 2],
                    samples[int(len(samples) * 0.95)],
                    samples[int(len(samples) * 0.99)],
                )
            )
    finally:
        settings.REDIS_URL = redis_url
        store.reset()
        RawVisit.objects.filter(day=BENCH_DAY).delete()
        if redis_url:
            import redis

            conn = redis.Redis.from_url(redis_url)
            keys = list(conn.scan_iter(f"{settings.ANALYTICS_REDIS_PREFIX}:*"))
            if keys:
                conn.delete(*keys)

    print(f"\nPage-view middleware, {args.requests} requests each (µs per request)\n")
    print(f"| {'set-up':<34} | {'mean':>8} | {'p50':>8} | {'p95':>8} | {'p99':>8} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for label, mean, p50, p95, p99 in rows:
        print(f"| {label:<34} | {mean:8.0f} | {p50:8.0f} | {p95:8.0f} | {p99:8.0f} |")
    print(f"\nDatabase: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; Redis: {redis_url or 'none'}")


if __name__ == "__main__":
    main()
