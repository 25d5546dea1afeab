"""SQLite as the demo and the README's test command use it, bounding integers as Postgres does.

Django bounds an integer field's form and model validation by the database's range: 32-bit
columns on Postgres, 64-bit for every integer on SQLite. So on SQLite an operator could save
2,147,483,648 where production refuses it, and the same input gave two answers. With the
standard ranges (``BaseDatabaseOperations.integer_field_ranges``) every field refuses the same
values on both. Used automatically for ``sqlite://`` URLs (pointsmall/settings.py).
"""

from __future__ import annotations

from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def integer_field_range(self, internal_type: str) -> tuple[int, int]:
        low, high = BaseDatabaseOperations.integer_field_ranges[internal_type]
        return low, high


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
