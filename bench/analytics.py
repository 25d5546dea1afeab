"""The page-view middleware's overhead alone (``bench.operations.bench_middleware``), on any database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python -m bench.analytics [--requests 2000]

Prints µs per request: not counted (a bot), Redis, the database fallback, a dead Redis. Its
counters use their own Redis prefix and a day far in the past, and it deletes exactly what it
wrote. The full benchmark with the report is ``python -m bench.operations``.
"""

from __future__ import annotations

import argparse
import os
import uuid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")
    import django

    django.setup()
    from django.conf import settings

    from bench.operations import analytics_cleanup, bench_middleware, middleware_table

    settings.ANALYTICS_REDIS_PREFIX = f"bench:analytics:{uuid.uuid4().hex}"
    try:
        rows = bench_middleware(args.requests)
    finally:
        analytics_cleanup()
    print("\n".join(middleware_table(rows)))


if __name__ == "__main__":
    main()
