"""What a refused request must not change: every table of the project's apps, compared by
content (one md5 per table, one query), so an update is seen as well as an insert or a delete.

Used by the form fuzzing (tests/security/test_form_fuzz.py), the request limits
(tests/security/test_request_limits.py) and the API fuzzing (tests/integration/test_api_fuzz.py).
Postgres only (``string_agg`` over the row's text form).
"""

from __future__ import annotations

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
    """``{table: md5 of all its rows}`` for ``tables``, in one query."""
    parts = [
        f"SELECT '{t}', md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM \"{t}\" r" for t in tables
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return dict(cursor.fetchall())


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before if before[t] != after.get(t))
