"""Build a valid ledger of any size with a handful of set-based statements.

Member ``a`` (ids 1..accounts) owns ``lots_per_account`` lots, each opened by its own
earn entry (with an idempotency key, as ``points_earn`` writes it) and its +amount
movement; entry, lot and movement of lot ``j`` share the id ``(a - 1) * lots + j``, so
entry ids grow with ``j`` inside an account and ``balance_after`` is the running sum.
The first ``due_per_account`` lots of every account expired before ``now``; the others
expire months later. Cached balances and lifetime totals equal their entries, so
``points_verify`` passes on the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

LEDGER_TABLES = ["points_lotmovement", "points_lot", "points_entry", "points_account", "accounts_user"]


@dataclass(frozen=True)
class LedgerShape:
    accounts: int
    lots_per_account: int
    due_per_account: int

    @property
    def lots(self) -> int:
        return self.accounts * self.lots_per_account

    @property
    def due_lots(self) -> int:
        return self.accounts * self.due_per_account


# Lot j of account a: amount 10..500 points, varied so totals are not all alike.
_PLAN_SQL = """
CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
SELECT (a - 1) * %(lots)s + j AS id, a AS account_id, j,
       10 * (1 + (a * 31 + j * 17) %% 50) AS amount,
       CASE WHEN j <= %(due)s THEN %(now)s - make_interval(days => %(due)s - j + 1)
            ELSE %(now)s + make_interval(days => 30 * (j - %(due)s)) END AS expires_at
FROM generate_series(1, %(accounts)s) a CROSS JOIN generate_series(1, %(lots)s) j
"""

_USERS_SQL = """
INSERT INTO accounts_user (id, password, is_superuser, first_name, last_name, is_staff, is_active, date_joined,
                           username, email, display_name, phone, avatar, avatar_thumbnail, language)
SELECT a, '!', false, '', '', false, true, %(now)s - interval '400 days',
       NULL, 'bench-' || a || '@bench.invalid', '', NULL, '', '', ''
FROM generate_series(1, %(accounts)s) a
"""

_ENTRIES_SQL = """
INSERT INTO points_entry (id, account_id, kind, amount, pending_amount, debt_change, balance_after, pending_after,
                          reference, memo_code, memo_params, memo, source, idempotency_key, created_at)
SELECT id, account_id, 'earn', amount, 0, 0,
       SUM(amount) OVER (PARTITION BY account_id ORDER BY j ROWS UNBOUNDED PRECEDING), 0,
       'bench-order-' || id, '', '{}'::jsonb, '', 'purchase', 'bench:earn:' || id, expires_at - interval '365 days'
FROM bench_plan ORDER BY id
"""

_ACCOUNTS_SQL = """
INSERT INTO points_account (id, user_id, balance, pending, debt, held, lifetime_earned, lifetime_spent,
                            lifetime_expired, created_at, updated_at)
SELECT account_id, account_id, SUM(amount), 0, 0, 0, SUM(amount), 0, 0, %(now)s - interval '400 days', %(now)s
FROM bench_plan GROUP BY account_id ORDER BY account_id
"""

_LOTS_SQL = """
INSERT INTO points_lot (id, account_id, entry_id, amount, remaining, status, earned_at, available_at, expires_at)
SELECT id, account_id, id, amount, amount, 'available',
       expires_at - interval '365 days', expires_at - interval '365 days', expires_at
FROM bench_plan ORDER BY id
"""

_MOVEMENTS_SQL = (
    "INSERT INTO points_lotmovement (id, entry_id, lot_id, amount) SELECT id, id, id, amount FROM bench_plan"
)


# Each row must point at a row that exists; checked set-based because loading skips the per-row FK triggers.
_ORPHANS_SQL = """
SELECT (SELECT COUNT(*) FROM points_account a LEFT JOIN accounts_user u ON u.id = a.user_id WHERE u.id IS NULL)
     + (SELECT COUNT(*) FROM points_entry e LEFT JOIN points_account a ON a.id = e.account_id WHERE a.id IS NULL)
     + (SELECT COUNT(*) FROM points_lot l LEFT JOIN points_account a ON a.id = l.account_id WHERE a.id IS NULL)
     + (SELECT COUNT(*) FROM points_lot l LEFT JOIN points_entry e ON e.id = l.entry_id WHERE e.id IS NULL)
     + (SELECT COUNT(*) FROM points_lotmovement m LEFT JOIN points_entry e ON e.id = m.entry_id WHERE e.id IS NULL)
     + (SELECT COUNT(*) FROM points_lotmovement m LEFT JOIN points_lot l ON l.id = m.lot_id WHERE l.id IS NULL)
"""

# Tables whose secondary indexes are dropped while loading and rebuilt in one pass afterwards.
_BULK_TABLES = ["points_entry", "points_lot", "points_lotmovement"]


def truncate_ledger() -> None:
    """Empty the ledger and the users. CASCADE also empties what points at users (history, sessions' owners)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(LEDGER_TABLES)} RESTART IDENTITY CASCADE")


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint."""
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [table],
    )
    return list(cursor.fetchall())


def _resync_sequences(cursor) -> None:
    # Rows were inserted with explicit ids; the services must get fresh ones after them.
    for table in LEDGER_TABLES:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, "
            f"false)"
        )


def build_ledger(shape: LedgerShape, now: datetime, *, step=None) -> None:
    """Truncate, then fill the ledger with ``shape``; ends with VACUUM ANALYZE so every run starts alike.

    Loading runs in one transaction, so an interrupted build leaves the schema (indexes
    included) as it was. Inside it, secondary indexes are dropped and rebuilt after the
    inserts, and the per-row foreign-key triggers are skipped (session_replication_role):
    the ids are consistent by construction, and one set-based orphan check proves it.
    """
    params = {
        "accounts": shape.accounts,
        "lots": shape.lots_per_account,
        "due": shape.due_per_account,
        "now": now,
    }
    statements = [
        ("plan", _PLAN_SQL),
        ("users", _USERS_SQL),
        ("accounts", _ACCOUNTS_SQL),
        ("entries", _ENTRIES_SQL),
        ("lots", _LOTS_SQL),
        ("movements", _MOVEMENTS_SQL),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(LEDGER_TABLES)} RESTART IDENTITY CASCADE")
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        dropped = [index for table in _BULK_TABLES for index in _secondary_indexes(cursor, table)]
        for name, _definition in dropped:
            cursor.execute(f"DROP INDEX {name}")
        for name, sql in statements:
            cursor.execute(sql, params)
            if step:
                step(name)
        for _name, definition in dropped:
            cursor.execute(definition)
        if step:
            step(f"{len(dropped)} indexes")
        cursor.execute(_ORPHANS_SQL)
        orphans = cursor.fetchone()[0]
        if orphans:
            raise RuntimeError(f"the built ledger has {orphans} rows pointing at nothing")
        _resync_sequences(cursor)
    with connection.cursor() as cursor:
        for table in LEDGER_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("CHECKPOINT")
    if step:
        step("vacuum analyze")
