"""An exact bigint sum for points_verify (issue #19, docs/decisions/0047).

``SUM(bigint)`` returns ``numeric``: for every group and, in a running window, for every row,
Postgres builds a numeric value and then compares it with a bigint as numeric. Verify sums
per lot, per entry and per running balance (a million groups each at a million entries), and
that conversion was about a third of those checks' CPU. ``points_sum_bigint`` adds with
``int8pl``: exact, and an overflow raises "bigint out of range" instead of wrapping (a
cached balance is a bigint, so a consistent ledger never overflows it). Postgres only;
SQLite's SUM already returns an integer.
"""

from django.db import connection as default_connection
from django.db import migrations

# OR REPLACE: idempotent, like every function the test suite re-runs after a flush
# (tests/conftest.py calls the data migrations' functions again, with no schema editor).
CREATE = """
CREATE OR REPLACE AGGREGATE points_sum_bigint(bigint) (
    SFUNC = int8pl, STYPE = bigint, COMBINEFUNC = int8pl, PARALLEL = SAFE
)
"""
DROP = "DROP AGGREGATE IF EXISTS points_sum_bigint(bigint)"


def _run(schema_editor, sql: str) -> None:
    connection = schema_editor.connection if schema_editor is not None else default_connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql)


def create(apps, schema_editor):
    _run(schema_editor, CREATE)


def drop(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):
    dependencies = [("points", "0018_covering_indexes_for_verify")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
