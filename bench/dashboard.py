"""Dashboard benchmark: how long the admin index with the dashboard and each CSV export take.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a seeded demo db> \\
        .venv/bin/python -m bench.dashboard [--requests 20]

Read-only: it runs against a database that ``manage.py seed_demo`` filled (the demo runs the
roll-up for 90 days), signs in the first superuser through the test client and times N requests
of each URL, in-process (no network, no gunicorn). Prints a table; never fails on a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")
    os.environ.setdefault("ADMIN_REQUIRE_MFA", "false")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from pointsmall.dashboard.models import DailyMetric
    from pointsmall.dashboard.selectors import CHARTS

    operator = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if operator is None or not DailyMetric.objects.exists():
        print("Seed the demo first (manage.py seed_demo): no superuser or no rolled-up figures.", file=sys.stderr)
        return 2
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    urls = [f"/admin/?days={d}" for d in (7, 30, 90)] + [f"/admin/dashboard/{c}.csv?days=90" for c in CHARTS]
    print(f"{'URL':<40} {'status':>6} {'queries':>7} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for url in urls:
        client.get(url)  # warm the template and translation caches
        timings = []
        for _ in range(args.requests):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(
            f"{url:<40} {response.status_code:>6} {len(queries):>7} {statistics.median(timings):>10.1f}"
            f" {p95:>8.1f} {timings[-1]:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
