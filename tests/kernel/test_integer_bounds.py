"""Integer fields refuse the same values on the demo's SQLite as on Postgres (pointsmall.kernel.sqlite)."""

from __future__ import annotations

from django.db import connection


def test_integer_fields_are_bounded_as_on_postgres():
    ops = connection.ops
    assert ops.integer_field_range("PositiveIntegerField") == (0, 2_147_483_647)
    assert ops.integer_field_range("IntegerField") == (-2_147_483_648, 2_147_483_647)
    assert ops.integer_field_range("PositiveSmallIntegerField") == (0, 32_767)
    assert ops.integer_field_range("BigIntegerField") == (-(2**63), 2**63 - 1)
