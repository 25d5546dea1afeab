"""An exact bigint sum for points_verify (issue #19, docs/decisions/0047).

``SUM(bigint)`` returns ``numeric``: for every group and, in a running window, for every row,
Postgres builds a numeric value and then compares it with a bigint as numeric. Verify sums
per lot, per entry and per running balance (a million groups each at a million entries), and
that conversion was about a third of those checks' CPU. ``points_sum_bigint`` adds with
``int8pl``: exact, and an overflow raises "bigint out of range" instead of wrapping (a
cached balance is a bigint, so a consistent ledger never overflows it). Postgres only;
SQLite's SUM already returns an integer.
"""

from django.db import migrations

CREATE = """
CREATE AGGREGATE points_sum_bigint(bigint) (
    SFUNC = int8pl, STYPE = bigint, COMBINEFUNC = int8pl, PARALLEL = SAFE
)
"""
DROP = "DROP AGGREGATE IF EXISTS points_sum_bigint(bigint)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("points", "0018_covering_indexes_for_verify")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
