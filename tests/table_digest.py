"""What a refused request must not change: every table of the project's apps, compared by
content (one md5 per table, one query), so an update is seen as well as an insert or a delete.

Used by the form fuzzing (tests/security/test_form_fuzz.py), the request limits
(tests/security/test_request_limits.py) and the API fuzzing (tests/integration/test_api_fuzz.py).
On Postgres one query (``string_agg`` over each row's text form); elsewhere (the README's SQLite
run) the rows are read and hashed here, one query per table.
"""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.db import connection

# Not watched: "analytics" counts page views and beacons on any request, refused or not (by
# design: a refusal is traffic too); sessions, admin log and Celery beat are Django's or
# libraries' bookkeeping.
WATCHED_APPS = frozenset(
    {
        "account", "accounts", "auth", "catalog", "content", "dashboard", "integration", "lottery", "mfa",
        "outbox", "points", "socialaccount", "tasks",
    }
)  # fmt: skip


def watched_tables() -> list[str]:
    """The tables of ``WATCHED_APPS`` (managed models, no proxies), sorted."""
    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models(include_auto_created=True)
            if model._meta.app_label in WATCHED_APPS and model._meta.managed and not model._meta.proxy
        }
    )


def table_digest(tables: list[str]) -> dict[str, str]:
    """``{table: digest of all its rows}`` for ``tables`` (one query on Postgres)."""
    if connection.vendor != "postgresql":
        return {t: _rows_digest(t) for t in tables}
    parts = [
        f"SELECT '{t}', md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM \"{t}\" r" for t in tables
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return dict(cursor.fetchall())


def _rows_digest(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}"')  # a table name from the models, never input
        rows = sorted(repr(row) for row in cursor.fetchall())
    return hashlib.md5("|".join(rows).encode(), usedforsecurity=False).hexdigest()


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before if before[t] != after.get(t))
