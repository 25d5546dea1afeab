"""Ledger invariants, each checked over the whole database by one set-based query."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

# Each check: a name, what must hold, and SQL returning one row per violation
# (an id and a short detail), capped so a broken database still answers quickly. ``{sum}`` is
# an exact bigint sum on Postgres (migration 0019: SUM(bigint) builds a numeric for every
# group, a third of the per-lot, per-entry and running-balance checks' CPU), SUM elsewhere.
# Each check is its own statement under LIMIT on purpose: merged passes over one table
# (a CTE of violating rows, one branch per check) made the planner drop the ordered merge
# joins for hash plans that cost more (docs/decisions/0047).
CHECKS: list[tuple[str, str, str | None]] = [
    (
        "balance_equals_entries",
        "account balance, pending, owed and lifetime totals equal the sums of their entries",
        """
        SELECT a.id, 'balance=' || a.balance || '/' || COALESCE(e.amount, 0)
               || ' pending=' || a.pending || '/' || COALESCE(e.pending, 0)
               || ' owed=' || a.debt || '/' || COALESCE(e.debt, 0)
               || ' earned=' || a.lifetime_earned || '/' || COALESCE(e.earned, 0)
               || ' spent=' || a.lifetime_spent || '/' || COALESCE(e.spent, 0)
               || ' expired=' || a.lifetime_expired || '/' || COALESCE(e.expired, 0)
        FROM points_account a
        LEFT JOIN (SELECT account_id, {sum}(amount) AS amount, {sum}(pending_amount) AS pending,
                          {sum}(debt_change) AS debt,
                          {sum}(CASE WHEN kind IN ('earn', 'vest') OR (kind = 'adjust' AND amount > 0) THEN amount
                                   WHEN kind = 'reverse' THEN amount - debt_change ELSE 0 END) AS earned,
                          {sum}(CASE WHEN kind IN ('spend', 'refund') THEN -amount ELSE 0 END) AS spent,
                          {sum}(CASE WHEN kind = 'expire' THEN -amount ELSE 0 END) AS expired
                   FROM points_entry GROUP BY account_id) e ON e.account_id = a.id
        WHERE a.balance <> COALESCE(e.amount, 0) OR a.pending <> COALESCE(e.pending, 0)
           OR a.debt <> COALESCE(e.debt, 0) OR a.lifetime_earned <> COALESCE(e.earned, 0)
           OR a.lifetime_spent <> COALESCE(e.spent, 0) OR a.lifetime_expired <> COALESCE(e.expired, 0)
        """,
    ),
    (
        "balance_equals_lots",
        "available balance equals the remaining points of available lots; pending, of pending lots",
        """
        SELECT a.id, 'balance=' || a.balance || ' lots=' || COALESCE(l.available, 0)
               || ' pending=' || a.pending || ' lots=' || COALESCE(l.pending, 0)
        FROM points_account a
        LEFT JOIN (SELECT account_id,
                          {sum}(CASE WHEN status = 'available' THEN remaining ELSE 0 END) AS available,
                          {sum}(CASE WHEN status = 'pending' THEN remaining ELSE 0 END) AS pending
                   FROM points_lot GROUP BY account_id) l ON l.account_id = a.id
        WHERE a.balance <> COALESCE(l.available, 0) OR a.pending <> COALESCE(l.pending, 0)
        """,
    ),
    (
        "no_negative_totals",
        "no account has a negative balance, pending or owed total",
        "SELECT id, 'balance=' || balance FROM points_account WHERE balance < 0 OR pending < 0 OR debt < 0",
    ),
    (
        "lot_in_range",
        "0 <= lot.remaining <= lot.amount",
        "SELECT id, remaining || '/' || amount FROM points_lot WHERE remaining < 0 OR remaining > amount",
    ),
    (
        "lot_equals_movements",
        "each lot's remaining equals the sum of its movements",
        """
        SELECT l.id, 'remaining=' || l.remaining || ' movements=' || COALESCE(m.total, 0)
        FROM points_lot l
        LEFT JOIN (SELECT lot_id, {sum}(amount) AS total FROM points_lotmovement GROUP BY lot_id) m
               ON m.lot_id = l.id
        WHERE l.remaining <> COALESCE(m.total, 0)
        """,
    ),
    (
        "entry_equals_movements",
        "each entry (spend, expire, refund...) equals the sum of its lot movements",
        """
        SELECT e.id, e.kind || ' ' || (e.amount + e.pending_amount) || ' movements=' || COALESCE(m.total, 0)
        FROM points_entry e
        LEFT JOIN (SELECT entry_id, {sum}(amount) AS total FROM points_lotmovement GROUP BY entry_id) m
               ON m.entry_id = e.id
        WHERE e.amount + e.pending_amount <> COALESCE(m.total, 0)
        """,
    ),
    (
        "balance_after_is_running_sum",
        "each entry's balance_after is the running sum of the account's entries",
        """
        SELECT id, 'balance_after=' || balance_after || ' running=' || running FROM (
            SELECT id, balance_after,
                   {sum}(amount) OVER (PARTITION BY account_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS running
            FROM points_entry) r
        WHERE balance_after <> running
        """,
    ),
    (
        "refund_within_spend",
        "no spend is refunded beyond what it took",
        """
        SELECT s.id, 'spent=' || (-s.amount) || ' refunded=' || r.total
        FROM points_entry s
        JOIN (SELECT related_entry_id, {sum}(amount) AS total FROM points_entry
              WHERE kind = 'refund' GROUP BY related_entry_id) r ON r.related_entry_id = s.id
        WHERE s.kind = 'spend' AND r.total > -s.amount
        """,
    ),
    (
        # Not required: held <= balance. Expiry can take the balance under what active holds
        # reserve until the hold is captured (then refused) or released (docs/decisions/0033).
        "held_equals_active_holds",
        "each account's held points equal the sum of its active holds",
        """
        SELECT a.id, 'held=' || a.held || ' active holds=' || COALESCE(h.total, 0)
        FROM points_account a
        LEFT JOIN (SELECT account_id, {sum}(amount) AS total FROM points_hold
                   WHERE status = 'active' GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.held <> COALESCE(h.total, 0)
        """,
    ),
    (
        "one_effect_per_key",
        "each idempotency key has exactly one entry (the unique index that guarantees it is in place)",
        None,  # checked on the schema: scanning a million keys proves less than the index does
    ),
]


@dataclass(frozen=True)
class Violation:
    check: str
    row_id: int
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    checks: int
    violations: list[Violation]
    counts: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.violations


def check_sql(sql: str, *, limit_per_check: int = 50) -> str:
    """A check's statement as verify runs it: capped, with the sum aggregate for this database."""
    aggregate = "points_sum_bigint" if connection.vendor == "postgresql" else "SUM"
    return f"SELECT * FROM ({sql.format(sum=aggregate)}) v LIMIT {int(limit_per_check)}"


def _key_is_unique(cursor) -> bool:
    constraints = connection.introspection.get_constraints(cursor, "points_entry")
    return any(c["unique"] and c["columns"] == ["idempotency_key"] for c in constraints.values())


# Memory for one check's sorts and hashes, in this transaction only (SET LOCAL). With the server's
# default (4 MB) a check over a million lots spills to disk or the planner avoids the hash plans
# that suit a table a sweep has just rewritten (docs/decisions/0047).
VERIFY_WORK_MEM = "64MB"


def points_verify(*, limit_per_check: int = 50) -> VerifyReport:
    """Run every invariant check; read-only, safe at any time (it takes no locks).

    Returns a VerifyReport: ``violations`` lists up to ``limit_per_check`` rows per broken
    invariant (the offending row's id and a detail), ``counts`` the rows per ledger table.
    On Postgres the checks run in one transaction with ``work_mem`` raised for it alone.
    """
    violations: list[Violation] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('work_mem', %s, true)", [VERIFY_WORK_MEM])
        for name, _description, sql in CHECKS:
            if sql is None:
                if not _key_is_unique(cursor):
                    violations.append(Violation(name, 0, "points_entry.idempotency_key has no unique index"))
                continue
            cursor.execute(check_sql(sql, limit_per_check=limit_per_check))
            violations.extend(Violation(name, int(row[0]), str(row[1])) for row in cursor.fetchall())
        counts = {}
        for table in ("points_account", "points_entry", "points_lot", "points_lotmovement"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = int(cursor.fetchone()[0])
    return VerifyReport(checks=len(CHECKS), violations=violations, counts=counts)
