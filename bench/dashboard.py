"""The dashboard's pages alone, on a database that ``manage.py seed_demo`` filled (read-only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a seeded demo db> \\
        .venv/bin/python -m bench.dashboard [--requests 20]

Times the admin index and each CSV in-process (``bench.operations.time_pages``) and prints the
table; writes nothing, so it runs on any database. The full benchmark with its own data and
the report is ``python -m bench.operations``.
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")
    os.environ.setdefault("ADMIN_REQUIRE_MFA", "false")
    import django

    django.setup()
    from bench.operations import pages_table, time_pages

    pages = time_pages(args.requests)
    if not pages:
        print("Seed the demo first (manage.py seed_demo): no superuser.", file=sys.stderr)
        return 2
    print("\n".join(pages_table(pages)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
