"""Ledger benchmark (issue #3): concurrent spends, the expiry sweep against its baselines, verify.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench .venv/bin/python -m bench.ledger [--quick]

It TRUNCATES the ledger and user tables, so it refuses any database that is not Postgres
named ``pm_bench*``. It prints figures as it goes and rewrites the ``## Ledger`` section of
docs/benchmarks.md. It never fails on a timing: targets are reported as met or missed.

Each expiry contender runs on its own copy of one freshly built data set
(``CREATE DATABASE ... TEMPLATE``), so all of them start from byte-identical tables; every
contender runs ``--repeat`` times (default 3), interleaved, and the report gives medians with
their spread and the load around each run. ``points_verify`` is timed on the fresh set, right
after each sweep, after the service's maintenance step, and after a day of churn (the nightly
sweep, then spends, refunds and a small sweep, nothing vacuumed; issue #19).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from bench import common
from bench.common import progress
from bench.ledger_data import LedgerShape, build_ledger

SERVICE_TO_PLAIN_SQL_TARGET = 0.8
SERVICE_TO_ORM_TARGET = 20.0
VERIFY_SECONDS_TARGET = 5.0


@dataclass
class SpendResult:
    clients: int
    spends: int
    seconds: float
    latencies: list[float]
    errors: Counter = field(default_factory=Counter)
    load: float = 0.0

    @property
    def per_second(self) -> float:
        return self.spends / self.seconds if self.seconds else 0.0

    def latency_ms(self, fraction: float) -> float:
        return common.percentile(self.latencies, fraction) * 1000


@dataclass
class ExpiryRun:
    """One timed run of one contender on its own copy of the data."""

    lots: int
    points: int
    seconds: float
    python_cpu: float
    postgres_cpu: float | None
    rss_before: int
    peak_rss: int
    load: float
    load_after: float = 0.0
    verify_ok: bool = False
    verify_seconds: float = 0.0
    # The service only: VACUUM (ANALYZE) after the sweep (ledger_maintain), then verify again.
    maintain_seconds: float | None = None
    verify_maintained_seconds: float | None = None

    @property
    def lots_per_second(self) -> float:
        return self.lots / self.seconds


@dataclass
class Contender:
    name: str
    does: str
    sample: bool = False
    runs: list[ExpiryRun] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def lots_per_second(self) -> float:
        """Median of the runs' rates (each run may expire a different sample size)."""
        return statistics.median(run.lots_per_second for run in self.runs)

    @property
    def cpu_lots_per_second(self) -> float | None:
        """Lots per CPU second (this process + its Postgres backend), median run; None when unmeasurable."""
        rates = [run.lots / (run.python_cpu + run.postgres_cpu) for run in self.runs if run.postgres_cpu is not None]
        return statistics.median(rates) if rates else None


def _spread(values: list[float], unit: str = " s") -> str:
    """Median (min–max) of a few figures."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.2f}{unit}"
    return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}–{max(values):.2f})"


@dataclass
class VerifyResult:
    entries: int
    runs: list[float]
    per_check: list[tuple[str, float]]
    ok: bool
    postgres_cpu: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def median_cpu(self) -> float | None:
        return statistics.median(self.postgres_cpu) if self.postgres_cpu else None


# --- 1. Spends -------------------------------------------------------------------------


def _spend_loop(index: int, user_ids: list[int], seconds: float, label: str, barrier) -> tuple[list, float, dict]:
    from points.services import points_spend

    rng = random.Random(index)
    # Warm-up outside the measured window: connecting and first-call costs are not a spend's.
    for warm in range(5):
        points_spend(user_id=user_ids[warm % len(user_ids)], amount=1, idempotency_key=f"{label}:{index}:w{warm}")
    barrier.wait(timeout=120)
    latencies: list[float] = []
    errors: Counter = Counter()
    start = time.perf_counter()
    deadline = start + seconds
    operation = 0
    while time.perf_counter() < deadline:
        user_id = user_ids[operation % len(user_ids)]
        began = time.perf_counter()
        try:
            points_spend(user_id=user_id, amount=rng.randint(1, 10), idempotency_key=f"{label}:{index}:{operation}")
        # A benchmark counts failures by kind instead of dying on the first one.
        except Exception as error:
            errors[type(error).__name__] += 1
        latencies.append(time.perf_counter() - began)
        operation += 1
    return latencies, time.perf_counter() - start, dict(errors)


def _spend_client(index: int, user_ids: list[int], seconds: float, label: str, barrier, results) -> None:
    """One client in its own process and DB connection, spending round-robin over its own members."""
    from django.db import connection

    try:
        outcome = _spend_loop(index, user_ids, seconds, label, barrier)
    except Exception as error:
        # Release the others from the barrier; the parent reports the failure instead of hanging.
        barrier.abort()
        outcome = ([], 0.0, {f"client failed ({type(error).__name__}: {error})": 1})
    finally:
        connection.close()
    results.put(outcome)


def run_spends(*, clients: int, accounts: int, seconds: float) -> SpendResult:
    from django.db import connections

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients)
    results = context.Queue()
    members = list(range(1, accounts + 1))
    label = f"bench:spend:{clients}:{time.time_ns()}"
    # A forked child must open its own connection, never reuse the parent's socket.
    connections.close_all()
    load = os.getloadavg()[0]
    processes = [
        context.Process(
            target=_spend_client, args=(index, members[index::clients], seconds, label, barrier, results), daemon=True
        )
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    # Drain before joining: a child cannot exit while its large result is still in the pipe.
    outcomes = [results.get(timeout=seconds + 120) for _process in processes]
    for process in processes:
        process.join()
    latencies = [latency for outcome in outcomes for latency in outcome[0]]
    errors: Counter = Counter()
    for outcome in outcomes:
        errors.update(outcome[2])
    return SpendResult(clients, len(latencies), max(outcome[1] for outcome in outcomes), latencies, errors, load)


def bench_spends(*, clients: int, accounts: int, seconds: float) -> tuple[list[SpendResult], bool]:
    from django.utils import timezone

    from points.services import points_verify

    shape = LedgerShape(accounts=accounts, lots_per_account=10, due_per_account=0)
    progress(f"spends: building {shape.accounts:,} members with {shape.lots:,} unexpired lots")
    build_ledger(shape, timezone.now())
    spend_results = []
    for count in sorted({1, clients}):
        progress(f"spends: {count} client(s) for {seconds:g} s ...")
        result = run_spends(clients=count, accounts=accounts, seconds=seconds)
        spend_results.append(result)
        progress(
            f"spends: {count} client(s): {result.spends:,} spends, {result.per_second:,.0f}/s, "
            f"p50 {result.latency_ms(0.5):.1f} ms, p95 {result.latency_ms(0.95):.1f} ms, errors {dict(result.errors)}"
        )
    report = points_verify()
    progress(f"spends: points_verify after the concurrent spends: {'ok' if report.ok else report.violations[:5]}")
    return spend_results, report.ok


# --- 2. Expiry -------------------------------------------------------------------------

# The plain-SQL baseline, written independently of points.services.expiry: one transaction,
# a handful of set-based statements over every due lot at once. It takes no account locks
# before reading, so it is a speed reference for a quiet database, not a safe job.
_PLAIN_SQL_EXPIRY = [
    """
    CREATE TEMP TABLE bench_due ON COMMIT DROP AS
    SELECT id AS lot_id, account_id, remaining FROM points_lot
    WHERE status = 'available' AND remaining > 0 AND expires_at <= %(as_of)s
    """,
    """
    CREATE TEMP TABLE bench_expiry ON COMMIT DROP AS
    SELECT account_id, total, nextval(pg_get_serial_sequence('points_entry', 'id')) AS entry_id
    FROM (SELECT account_id, SUM(remaining) AS total FROM bench_due GROUP BY account_id) t
    """,
    "ANALYZE bench_due",
    "ANALYZE bench_expiry",
    """
    UPDATE points_account a
    SET balance = a.balance - x.total, lifetime_expired = a.lifetime_expired + x.total, updated_at = %(now)s
    FROM bench_expiry x WHERE a.id = x.account_id
    """,
    """
    INSERT INTO points_entry (id, account_id, kind, amount, pending_amount, debt_change, balance_after, pending_after,
                              reference, memo_code, memo_params, memo, source, created_at)
    SELECT x.entry_id, x.account_id, 'expire', -x.total, 0, 0, a.balance, a.pending, '', '', '{}'::jsonb, '', '',
           %(now)s
    FROM bench_expiry x JOIN points_account a ON a.id = x.account_id
    """,
    """
    INSERT INTO points_lotmovement (entry_id, lot_id, amount)
    SELECT x.entry_id, d.lot_id, -d.remaining FROM bench_due d JOIN bench_expiry x ON x.account_id = d.account_id
    """,
    "UPDATE points_lot l SET remaining = 0 FROM bench_due d WHERE l.id = d.lot_id",
    "SELECT (SELECT COUNT(*) FROM bench_due), (SELECT COALESCE(SUM(total), 0) FROM bench_expiry)",
]


def expire_plain_sql(as_of: datetime) -> tuple[int, int]:
    from django.db import connection, transaction
    from django.utils import timezone

    params = {"as_of": as_of, "now": timezone.now()}
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in _PLAIN_SQL_EXPIRY:
            cursor.execute(statement, params)
        lots, points = cursor.fetchone()
    return int(lots), int(points)


def _due_sample(as_of: datetime, offset: int, size: int) -> list[tuple[int, int]]:
    from points.enums import LotStatus
    from points.models import Lot

    return list(
        Lot.objects.filter(status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__lte=as_of)
        .order_by("account_id", "pk")
        .values_list("pk", "account_id")[offset : offset + size]
    )


def _expire_one_lot_naively(lot_id: int, account_id: int, now: datetime) -> int:
    from django.db.models import F

    from points.enums import EntryKind
    from points.models import Account, Entry, Lot, LotMovement

    account = Account.objects.select_for_update().get(pk=account_id)
    lot = Lot.objects.get(pk=lot_id)
    points = lot.remaining
    Account.objects.filter(pk=account.pk).update(
        balance=F("balance") - points, lifetime_expired=F("lifetime_expired") + points, updated_at=now
    )
    entry = Entry.objects.create(
        account=account,
        kind=EntryKind.EXPIRE,
        amount=-points,
        balance_after=account.balance - points,
        pending_after=account.pending,
        created_at=now,
    )
    LotMovement.objects.create(entry=entry, lot=lot, amount=-points)
    Lot.objects.filter(pk=lot.pk).update(remaining=0)
    return points


def expire_orm_per_lot(as_of: datetime, *, offset: int, size: int) -> tuple[int, int]:
    """The naive job (a reference only): for each due lot, a transaction that locks the account,
    writes an entry and a movement and empties the lot: 6 statements and one entry per lot."""
    from django.db import transaction
    from django.utils import timezone

    now = timezone.now()
    points = 0
    sample = _due_sample(as_of, offset, size)
    for lot_id, account_id in sample:
        with transaction.atomic():
            points += _expire_one_lot_naively(lot_id, account_id, now)
    return len(sample), points


def _due_members(as_of: datetime, offset: int, size: int) -> list[int]:
    from points.enums import LotStatus
    from points.models import Lot

    return list(
        Lot.objects.filter(status=LotStatus.AVAILABLE, remaining__gt=0, expires_at__lte=as_of)
        .order_by("account_id")
        .values_list("account_id", flat=True)
        .distinct()[offset : offset + size]
    )


def expire_orm_per_member(as_of: datetime, *, offset: int, size: int) -> tuple[int, int]:
    """The fair baseline: what a competent engineer writes on the service's own functions. One
    transaction per due member: lock the account once (points.locks), then ``expire_accounts``
    expires all of that member's due lots with one entry, their movements, one lot UPDATE and
    one account UPDATE (7 statements per member, whatever its number of lots)."""
    from django.db import transaction

    from points import locks
    from points.services.expiry import expire_accounts

    lots = points = 0
    for account_id in _due_members(as_of, offset, size):
        with transaction.atomic():
            locked = locks.accounts_for_update_skip_locked(account_ids=[account_id])
            expired_lots, expired_points, _members = expire_accounts(locked, as_of)
        lots += expired_lots
        points += expired_points
    return lots, points


@contextmanager
def working_copy() -> Iterator[str]:
    """Point the connection at a fresh file copy of the bench database; drop the copy afterwards."""
    import psycopg2
    from django.db import connection

    base = connection.settings_dict["NAME"]
    copy = f"{base}_run"
    server_params = {
        key: value
        for key, value in {
            "dbname": "postgres",
            "host": connection.settings_dict.get("HOST") or None,
            "port": connection.settings_dict.get("PORT") or None,
            "user": connection.settings_dict.get("USER") or None,
            "password": connection.settings_dict.get("PASSWORD") or None,
        }.items()
        if value is not None
    }

    def on_server(*statements: str) -> None:
        server = psycopg2.connect(**server_params)
        server.autocommit = True
        try:
            with server.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            server.close()

    connection.close()
    on_server(
        f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)',
        f'CREATE DATABASE "{copy}" TEMPLATE "{base}" STRATEGY FILE_COPY',
    )
    connection.settings_dict["NAME"] = copy
    try:
        yield copy
    finally:
        connection.close()
        connection.settings_dict["NAME"] = base
        on_server(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def _verify(label: str) -> tuple[bool, float]:
    from points.services import points_verify

    with common.timed() as elapsed:
        report = points_verify()
    if report.ok:
        progress(f"{label}: points_verify ok in {elapsed[0]:.1f} s ({report.counts['points_entry']:,} entries)")
    else:
        progress(f"{label}: points_verify FAILED: {report.violations[:5]}")
    return report.ok, elapsed[0]


def _postgres_backend_pid() -> int | None:
    """This connection's Postgres backend, when it runs on this machine (so its CPU time can be read)."""
    from pathlib import Path

    from django.db import connection

    if (connection.settings_dict.get("HOST") or "localhost") not in {"localhost", "127.0.0.1", "::1"}:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        is_postgres = b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if is_postgres else None


def _measure(
    contender: Contender, run: Callable[[], tuple[int, int]], *, maintain: bool = False, verify: bool = True
) -> None:
    """Time ``run`` on the current working copy, with CPU, memory and the load it ran under; then
    verify (timed: the state right after the sweep). With ``maintain``, then run ``ledger_maintain``
    (VACUUM ANALYZE, as ``points_expire`` does after a large sweep) and verify again."""
    from points.services import ledger_maintain

    backend = _postgres_backend_pid()
    load = os.getloadavg()[0]
    rss_before = common.rss_bytes()
    common.reset_peak_rss()
    postgres_before = common.process_cpu_seconds(backend) if backend else None
    python_before = time.process_time()
    with common.timed() as elapsed:
        lots, points = run()
    python_cpu = time.process_time() - python_before
    postgres_after = common.process_cpu_seconds(backend) if backend else None
    postgres_cpu = postgres_after - postgres_before if postgres_before is not None and postgres_after else None
    result = ExpiryRun(
        lots,
        points,
        elapsed[0],
        python_cpu,
        postgres_cpu,
        rss_before,
        common.peak_rss_bytes(),
        load,
        os.getloadavg()[0],
    )
    cpu = f", CPU {python_cpu:.1f} s Python + {postgres_cpu:.1f} s Postgres" if postgres_cpu is not None else ""
    progress(
        f"{contender.name}: {lots:,} lots, {points:,} points in {elapsed[0]:.2f} s = "
        f"{result.lots_per_second:,.0f} lots/s{cpu} (load {load:.1f} → {result.load_after:.1f})"
    )
    if verify:
        result.verify_ok, result.verify_seconds = _verify(f"{contender.name}, right after the sweep")
    if maintain:
        with common.timed() as maintained:
            ledger_maintain()
        result.maintain_seconds = maintained[0]
        progress(f"{contender.name}: ledger_maintain (VACUUM ANALYZE) in {maintained[0]:.1f} s")
        ok, result.verify_maintained_seconds = _verify(f"{contender.name}, after ledger_maintain")
        result.verify_ok = result.verify_ok and ok
    contender.runs.append(result)


def _service_run(as_of: datetime, batch_size: int) -> Callable[[], tuple[int, int]]:
    from points.services import BatchReport, points_expire

    def run() -> tuple[int, int]:
        last_print = [time.perf_counter()]

        def report_progress(report: BatchReport) -> None:
            if time.perf_counter() - last_print[0] >= 10:
                last_print[0] = time.perf_counter()
                progress(f"  ... {report.batches} batches, {report.lots:,} lots, {report.members:,} members")

        report = points_expire(as_of=as_of, batch_size=batch_size, progress=report_progress, maintain=False)
        if report.skipped_members:
            progress(f"  {report.skipped_members} members skipped as locked (nothing else runs: unexpected)")
        return report.lots, report.points

    return run


@dataclass
class ExpiryBench:
    shape: LedgerShape
    build_seconds: float
    due_lots: int
    due_points: int
    contenders: list[Contender]
    verify: VerifyResult
    churn: ChurnResult | None = None

    def contender(self, name: str) -> Contender:
        return next(c for c in self.contenders if c.name == name)


PLAIN_SQL = "plain SQL, one transaction"
ORM_PER_MEMBER = "per-member ORM loop (service functions)"
ORM_PER_LOT = "naive per-lot ORM loop (reference)"

DOES = {
    "service": "`points_expire`: batches of N members locked (pk order, SKIP LOCKED), one CTE statement per "
    "batch (entry per member, movements, lots, accounts), a commit per batch; its VACUUM ANALYZE step "
    "(`ledger_maintain`) is timed apart",
    PLAIN_SQL: "hand-written, independent of the service: temp tables of due lots and per-member totals, then "
    "5 set-based statements in one transaction; no locks taken first, so a speed reference, not a safe job",
    ORM_PER_MEMBER: "a transaction per due member: lock the account once, then the service's own "
    "`expire_accounts` (its due lots, one entry, their movements, one lot UPDATE, one account UPDATE): "
    "7 statements per member",
    ORM_PER_LOT: "the loop the old figure was measured against: a transaction per lot, 6 statements and one "
    "entry per lot, the account re-locked for every lot; shown for reference, no target",
}


def bench_verify(runs: int, *, per_check: bool = True) -> VerifyResult:
    from django.db import connection

    from points.services import points_verify
    from points.services.verify import CHECKS, check_sql

    times: list[float] = []
    cpu: list[float] = []
    ok = True
    entries = 0
    backend = _postgres_backend_pid()
    loads: list[float] = []
    for attempt in range(runs):
        loads.append(os.getloadavg()[0])
        cpu_before = common.process_cpu_seconds(backend) if backend else None
        with common.timed() as elapsed:
            report = points_verify()
        cpu_after = common.process_cpu_seconds(backend) if backend else None
        times.append(elapsed[0])
        if cpu_before is not None and cpu_after is not None:
            cpu.append(cpu_after - cpu_before)
        ok = ok and report.ok
        entries = report.counts["points_entry"]
        used = f", Postgres CPU {cpu[-1]:.2f} s" if cpu else ""
        progress(
            f"verify: run {attempt + 1}/{runs}: {elapsed[0]:.2f} s{used}, "
            f"{'ok' if report.ok else report.violations[:5]} ({entries:,} entries, load {os.getloadavg()[0]:.1f})"
        )
    checks = []
    with connection.cursor() as cursor:
        for name, _description, sql in CHECKS if per_check else []:
            # The same wrapping points_verify uses, so the parts add up to the whole.
            with common.timed() as elapsed:
                if sql is None:  # a schema check (introspection), not a query over rows
                    connection.introspection.get_constraints(cursor, "points_entry")
                else:
                    cursor.execute(check_sql(sql))
                    cursor.fetchall()
            checks.append((name, elapsed[0]))
            progress(f"verify: check {name}: {elapsed[0]:.2f} s")
    return VerifyResult(entries, times, checks, ok, cpu, loads)


def bench_expiry(
    *,
    lots: int,
    batch_sizes: list[int],
    orm_sample: int,
    verify_runs: int,
    repeat: int,
    churn: bool = True,
    churn_spends: int | None = None,
) -> ExpiryBench:
    from django.db import connection
    from django.utils import timezone

    shape = LedgerShape(accounts=max(lots // 10, 1), lots_per_account=10, due_per_account=5)
    built_at = timezone.now()
    progress(f"expiry: building {shape.lots:,} lots ({shape.due_lots:,} due) over {shape.accounts:,} members ...")
    with common.timed() as build_time:
        build_ledger(shape, built_at, step=lambda name: progress(f"  built {name}"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COALESCE(SUM(remaining), 0) FROM points_lot "
            "WHERE status = 'available' AND remaining > 0 AND expires_at <= %s",
            [built_at],
        )
        due_lots, due_points = (int(value) for value in cursor.fetchone())
    progress(f"expiry: built in {build_time[0]:.0f} s; {due_lots:,} lots holding {due_points:,} points are due")

    # 3. verify, on the freshly built data: one earn entry per lot.
    verify = bench_verify(verify_runs)

    # 2. every contender on its own copy; runs interleaved so a busy spell on the machine does
    # not land on one contender only. The service's runs also time verify right after the sweep
    # and again after its maintenance step (VACUUM ANALYZE).
    full = {f"points_expire, batch {size:,}": _service_run(built_at, size) for size in batch_sizes}
    full[PLAIN_SQL] = lambda: expire_plain_sql(built_at)
    contenders = [
        Contender(name, DOES["service"].replace("N members", f"{name.split('batch ')[-1]} members"))
        if name != PLAIN_SQL
        else Contender(name, DOES[PLAIN_SQL])
        for name in full
    ]
    for attempt in range(repeat):
        for contender in contenders:
            progress(f"expiry: {contender.name}, run {attempt + 1}/{repeat} ...")
            with working_copy():
                _measure(contender, full[contender.name], maintain=contender.name != PLAIN_SQL)
    # The ORM loops on samples (all 500,000 lots would take many minutes), each run on its own
    # slice of members, interleaved, in one copy: verify once at the end.
    members = max(min(orm_sample, due_lots // 2) // shape.due_per_account, 1)
    lot_sample = members * shape.due_per_account // 5 or 1
    per_member = Contender(ORM_PER_MEMBER, DOES[ORM_PER_MEMBER], sample=True)
    per_lot = Contender(ORM_PER_LOT, DOES[ORM_PER_LOT], sample=True)
    progress(f"expiry: ORM loops, {repeat} run(s) each: {members:,} members per run, naive loop {lot_sample:,} lots")
    with working_copy():
        for attempt in range(repeat):
            start = attempt * members
            _measure(
                per_member,
                lambda start=start: expire_orm_per_member(built_at, offset=start, size=members),
                verify=False,
            )
            lot_offset = (repeat * members * shape.due_per_account) + attempt * lot_sample
            _measure(
                per_lot,
                lambda lot_offset=lot_offset: expire_orm_per_lot(built_at, offset=lot_offset, size=lot_sample),
                verify=False,
            )
        ok, _seconds = _verify("ORM loops")
        for run in per_member.runs + per_lot.runs:
            run.verify_ok = ok
    contenders += [per_member, per_lot]
    churned = None
    if churn:
        # A day at this scale: 1 % of the lots' count in spends (10,000 at a million), a tenth of
        # them refunded, and the next lot of 5 % of the members swept (5,000 lots at a million:
        # under the VACUUM threshold). Bounded: the spends go through the service, one by one.
        spends = churn_spends or max(lots // 100, 100)
        churned = bench_churn(
            shape,
            built_at,
            spends=spends,
            refunds=spends // 10,
            sweep_members=max(lots // 200, 10),
            verify_runs=verify_runs,
        )
    return ExpiryBench(shape, build_time[0], due_lots, due_points, contenders, verify, churned)


# --- 2b. A day of churn after the nightly sweep (issue #19) ------------------------------


CHURN_CLIENTS = 4


@dataclass
class ChurnResult:
    """The "after a day of churn" state: the nightly sweep (with its VACUUM ANALYZE step), then a
    day's spends, refunds and a small sweep through the services, and no VACUUM afterwards."""

    spends: int
    refunds: int
    swept_lots: int
    seconds: float
    load: float
    load_after: float
    verify: VerifyResult
    errors: Counter = field(default_factory=Counter)


def _churn_client(index: int, user_ids: list[int], label: str, results) -> None:
    """One client (own process and connection): one spend of 1-10 points by each of its members."""
    from django.db import connection

    from points.services import points_spend

    rng = random.Random(index)
    errors: Counter = Counter()
    done = 0
    try:
        for user_id in user_ids:
            try:
                points_spend(user_id=user_id, amount=rng.randint(1, 10), idempotency_key=f"{label}:{user_id}")
                done += 1
            # A benchmark counts failures by kind instead of dying on the first one.
            except Exception as error:
                errors[type(error).__name__] += 1
    finally:
        connection.close()
    results.put((done, dict(errors)))


def _churn_spends(members: list[int], clients: int, label: str) -> tuple[int, Counter]:
    from django.db import connections

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    # A forked child must open its own connection, never reuse the parent's socket.
    connections.close_all()
    processes = [
        context.Process(target=_churn_client, args=(index, members[index::clients], label, results), daemon=True)
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=3600) for _process in processes]
    for process in processes:
        process.join()
    errors: Counter = Counter()
    for outcome in outcomes:
        errors.update(outcome[1])
    return sum(outcome[0] for outcome in outcomes), errors


def bench_churn(
    shape: LedgerShape, built_at: datetime, *, spends: int, refunds: int, sweep_members: int, verify_runs: int
) -> ChurnResult:
    """On a working copy: ``points_expire`` as the nightly job runs it (its VACUUM ANALYZE step
    included), then a day: ``spends`` spends by as many members (``CHURN_CLIENTS`` clients), ``refunds`` of them
    refunded, and the lots of ``sweep_members`` members that fell due a month later expired through
    the service's ``expire_accounts`` (fewer than ``MAINTAIN_AFTER_LOTS``, so nothing vacuums, as
    in ``points_expire`` on a small day). Then ``points_verify`` is timed with nothing vacuumed."""
    from datetime import timedelta

    from django.db import transaction

    from points import locks
    from points.models import Entry
    from points.services import points_expire, points_refund
    from points.services.expiry import expire_accounts

    with working_copy():
        progress("churn: the nightly sweep (points_expire with its maintenance step) ...")
        swept = points_expire(as_of=built_at, batch_size=5000)
        progress(f"churn: swept {swept.lots:,} lots; now a day of churn, nothing vacuumed afterwards")
        load = os.getloadavg()[0]
        rng = random.Random(19)
        members = rng.sample(range(1, shape.accounts + 1), min(spends, shape.accounts))
        label = f"bench:churn:{time.time_ns()}"
        with common.timed() as elapsed:
            done, errors = _churn_spends(members, CHURN_CLIENTS, label)
            progress(f"churn: {done:,} spends, errors {dict(errors)}")
            refunded = 0
            spend_entries = Entry.objects.filter(idempotency_key__startswith=f"{label}:").order_by("pk")
            for entry_id, account_id in spend_entries.values_list("pk", "account__user")[:refunds]:
                points_refund(user_id=account_id, spend_entry_id=entry_id, idempotency_key=f"{label}:r:{entry_id}")
                refunded += 1
            progress(f"churn: {refunded:,} refunds")
            # A month on, the next lot of every member is due; a day's sweep takes a few thousand of them.
            day_as_of = built_at + timedelta(days=31)
            due_members = sorted(rng.sample(range(1, shape.accounts + 1), min(sweep_members, shape.accounts)))
            swept_lots = 0
            for start in range(0, len(due_members), 1000):
                with transaction.atomic():
                    locked = locks.accounts_for_update_skip_locked(account_ids=due_members[start : start + 1000])
                    swept_lots += expire_accounts(locked, day_as_of)[0]
            progress(f"churn: the day's sweep expired {swept_lots:,} lots")
        load_after = os.getloadavg()[0]
        verify = bench_verify(verify_runs, per_check=False)
    return ChurnResult(done, refunded, swept_lots, elapsed[0], load, load_after, verify, errors)


# --- Report ---------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MiB"


def _render_spends(args: argparse.Namespace, spends: list[SpendResult], verified: bool) -> list[str]:
    lines = [
        f"### Spends (`points_spend`), {args.spend_seconds:g} s per run",
        "",
        "Each client is its own process with its own connection, spending 1–10 points round-robin over its own "
        f"members (of {args.spend_accounts:,}, 10 unexpired lots each): no two clients touch the same account, so "
        "this measures the ledger's own cost, not lock waits. No target in the issue; recorded to compare later runs.",
        "",
        "| clients | spends | spends/s | p50 | p95 | p99 | errors | load at start |",
        "|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for result in spends:
        errors = ", ".join(f"{name} ×{count}" for name, count in result.errors.items()) or "none"
        lines.append(
            f"| {result.clients} | {result.spends:,} | {result.per_second:,.0f} | {result.latency_ms(0.5):.1f} ms | "
            f"{result.latency_ms(0.95):.1f} ms | {result.latency_ms(0.99):.1f} ms | {errors} | {result.load:.1f} |"
        )
    if len(spends) > 1:
        scaling = spends[-1].per_second / spends[0].per_second
        lines += ["", f"{spends[-1].clients} clients vs 1: ×{scaling:.2f} the spends per second."]
    lines += ["", f"`points_verify` after the spends: {'ok' if verified else '**FAILED**'}.", ""]
    return lines


def _verdict(wall_ok: bool, cpu_ok: bool | None) -> str:
    if cpu_ok is None or cpu_ok == wall_ok:
        return _met(wall_ok)
    if wall_ok:
        return "**met** (on wall time; not on CPU time)"
    return "**missed** on wall time, **met** on CPU time: the machine was busy"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator and denominator else None


def _render_expiry(expiry: ExpiryBench, repeat: int) -> list[str]:
    shape = expiry.shape
    plain = expiry.contender(PLAIN_SQL)
    services = [c for c in expiry.contenders if c.name.startswith("points_expire")]
    best_service = max(services, key=lambda c: c.lots_per_second)
    fair = expiry.contender(ORM_PER_MEMBER)
    naive = expiry.contender(ORM_PER_LOT)
    lines = [
        f"### Expiry (`points_expire`): {shape.lots:,} lots, {expiry.due_lots:,} due, over {shape.accounts:,} members",
        "",
        f"The data set — {shape.lots:,} earn entries, lots and movements, {shape.lots_per_account} lots per member, "
        f"the {shape.due_per_account} oldest of each due ({expiry.due_points:,} points) — is built with set-based SQL "
        f"in {expiry.build_seconds:.0f} s and passes `points_verify`. Every full run starts from its own "
        "byte-identical copy of it (`CREATE DATABASE … TEMPLATE`) and is checked by `points_verify` afterwards. "
        f"Each contender ran {repeat} time(s), interleaved; figures are the **median (min–max)** of the runs, with "
        "the 1-minute load average at the start → end of each run. CPU is this process plus its Postgres backend "
        "(WAL writer and checkpointer not included).",
        "",
        "What each contender does:",
        "",
        *(f"- **{c.name}**{' (on samples)' if c.sample else ''}: {c.does}." for c in expiry.contenders),
        "",
        "| contender | lots per run | time, median (min–max) | lots/s (median) | vs plain SQL | lots per CPU-s "
        "| vs plain SQL (CPU) | load at each run (start → end) | peak RSS | verify after |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for contender in expiry.contenders:
        cpu_rate = contender.cpu_lots_per_second
        cpu_ratio = _ratio(cpu_rate, plain.cpu_lots_per_second)
        verified = "ok" if all(run.verify_ok for run in contender.runs) else "**FAILED**"
        loads = ", ".join(f"{run.load:.1f} → {run.load_after:.1f}" for run in contender.runs)
        sizes = sorted({run.lots for run in contender.runs})
        lines.append(
            f"| {contender.name} | {', '.join(f'{size:,}' for size in sizes)} | "
            f"{_spread([run.seconds for run in contender.runs])} | {contender.lots_per_second:,.0f} | "
            f"{contender.lots_per_second / plain.lots_per_second:.2f}× | "
            f"{f'{cpu_rate:,.0f}' if cpu_rate else 'n/a'} | {f'{cpu_ratio:.2f}×' if cpu_ratio else 'n/a'} | "
            f"{loads} | {_mib(max(run.peak_rss for run in contender.runs))} | {verified} |"
        )
    full = [*services, plain]
    same_work = all(run.lots == expiry.due_lots and run.points == expiry.due_points for c in full for run in c.runs)
    service_ratio = best_service.lots_per_second / plain.lots_per_second
    service_cpu_ratio = _ratio(best_service.cpu_lots_per_second, plain.cpu_lots_per_second)
    ratios = [run.lots_per_second / plain.lots_per_second for run in best_service.runs]
    orm_ratio = best_service.lots_per_second / fair.lots_per_second
    orm_cpu_ratio = _ratio(best_service.cpu_lots_per_second, fair.cpu_lots_per_second)
    naive_ratio = best_service.lots_per_second / naive.lots_per_second
    verify = expiry.verify
    after_sweep = [run.verify_seconds for c in services for run in c.runs]
    after_maintain = [
        run.verify_maintained_seconds for c in services for run in c.runs if run.verify_maintained_seconds
    ]
    maintain = [run.maintain_seconds for c in services for run in c.runs if run.maintain_seconds is not None]
    after_plain = [run.verify_seconds for run in plain.runs]
    service_verdict = _verdict(
        service_ratio >= SERVICE_TO_PLAIN_SQL_TARGET,
        None if service_cpu_ratio is None else service_cpu_ratio >= SERVICE_TO_PLAIN_SQL_TARGET,
    )
    orm_verdict = _verdict(
        orm_ratio >= SERVICE_TO_ORM_TARGET, None if orm_cpu_ratio is None else orm_cpu_ratio >= SERVICE_TO_ORM_TARGET
    )
    fresh_median = verify.median
    after_median = statistics.median(after_maintain) if after_maintain else math.inf

    def cpu_text(ratio: float | None, digits: int) -> str:
        return f"; {ratio:.{digits}f}× per CPU second" if ratio else ""

    lines += [
        "",
        f"Same work: every full run expired exactly the {expiry.due_lots:,} due lots and {expiry.due_points:,} points: "
        f"{'yes' if same_work else '**NO**'}. The ORM loops ran on samples; their rate is extrapolated (all "
        f"{expiry.due_lots:,} lots would take ~{expiry.due_lots / fair.lots_per_second / 60:.0f} min with the "
        f"per-member loop, ~{expiry.due_lots / naive.lots_per_second / 60:.0f} min with the naive one).",
        "",
        "| target (issues #3, #15 P5/P6, #19) | measured | |",
        "|---|---|---|",
        f"| `points_expire` ≥ {SERVICE_TO_PLAIN_SQL_TARGET}× the plain SQL's speed | {service_ratio:.2f}× "
        f"({best_service.name.split(', ')[1]}; medians; per run {min(ratios):.2f}–{max(ratios):.2f}×)"
        f"{cpu_text(service_cpu_ratio, 2)} | {service_verdict} |",
        f"| `points_expire` ≥ {SERVICE_TO_ORM_TARGET:g}× the per-member ORM loop | {orm_ratio:.0f}×"
        f"{cpu_text(orm_cpu_ratio, 0)} (the naive per-lot loop: {naive_ratio:.0f}×, no target) | {orm_verdict} |",
        f"| `points_verify` on {verify.entries:,} entries ≤ {VERIFY_SECONDS_TARGET:g} s, fresh | "
        f"{_spread(verify.runs)} | {_met(fresh_median <= VERIFY_SECONDS_TARGET)} |",
        f"| `points_verify` ≤ {VERIFY_SECONDS_TARGET:g} s after a {expiry.due_lots:,}-lot sweep by `points_expire` "
        f"(its VACUUM ANALYZE step included) | {_spread(after_maintain)} | "
        f"{_met(after_median <= VERIFY_SECONDS_TARGET)} |",
        *_churn_target(expiry.churn),
        "",
        f"### Verify (`points_verify`): {verify.entries:,} entries, {shape.lots:,} lots and movements, "
        f"{shape.accounts:,} accounts",
        "",
        "| state of the tables | runs | `points_verify`, median (min–max) | load at each run |",
        "|---|---:|---:|---|",
        f"| fresh (built, then VACUUM ANALYZE) | {len(verify.runs)} | {_spread(verify.runs)} | "
        f"{', '.join(f'{load:.1f}' for load in verify.loads)} |",
        f"| right after the service's sweep, before its maintenance step | {len(after_sweep)} | "
        f"{_spread(after_sweep)} | {', '.join(f'{run.load_after:.1f}' for c in services for run in c.runs)} |",
        f"| after the service's sweep and `ledger_maintain` (VACUUM ANALYZE: {_spread(maintain)}) | "
        f"{len(after_maintain)} | {_spread(after_maintain)} | — |",
        f"| right after the plain SQL's sweep (nothing vacuumed or analyzed) | {len(after_plain)} | "
        f"{_spread(after_plain)} | {', '.join(f'{run.load_after:.1f}' for run in plain.runs)} |",
        *_churn_rows(expiry.churn),
        "",
        "Fresh runs: "
        + ", ".join(f"{run:.2f} s" for run in verify.runs)
        + (
            f" (Postgres CPU {', '.join(f'{cpu:.2f} s' for cpu in verify.postgres_cpu)}: the backend's own, "
            "parallel workers not included)"
            if verify.postgres_cpu
            else ""
        )
        + f" — {'ok' if verify.ok else '**FAILED**'}. Each check alone on the fresh set "
        "(`points.services.verify.CHECKS`):",
        "",
        "| check | time |",
        "|---|---:|",
        *(f"| `{name}` | {seconds:.2f} s |" for name, seconds in verify.per_check),
        f"| total | {sum(seconds for _name, seconds in verify.per_check):.2f} s |",
        "",
        "What changed to get there (issue #19, docs/decisions/0047): every check sums with `points_sum_bigint` "
        "(migration 0019, an exact bigint sum: `SUM(bigint)` built a numeric per group, a third of the per-lot, "
        "per-entry and running-balance checks' CPU); covering indexes, so the checks read "
        "indexes in order instead of the heap (`points_entry_account_recent` on (account, id) INCLUDE the "
        "amounts and `balance_after`; the movements' foreign-key indexes replaced by (lot) and (entry) INCLUDE "
        "amount); `work_mem` raised for verify's own transaction; and `points_expire` ends a large sweep with "
        "`ledger_maintain` (VACUUM ANALYZE of the four ledger tables): the sweep rewrites every due lot "
        "(a new row version, not HOT: `remaining` is in an index predicate) and its new entries and movements "
        "fill the free space of old pages, clearing their all-visible bits, so without it every index-only "
        "scan falls back to the heap (EXPLAIN: ~1.1 M heap fetches on the entries) and the statistics are stale "
        '(autovacuum is off on this server). Operators\' guidance: docs/deploy.md, "Ledger maintenance".',
        "",
    ]
    return lines


def _cpu_list(verify: VerifyResult) -> str:
    return f" (Postgres CPU {', '.join(f'{cpu:.2f} s' for cpu in verify.postgres_cpu)})" if verify.postgres_cpu else ""


def _churn_target(churn: ChurnResult | None) -> list[str]:
    if churn is None:
        return []
    verify = churn.verify
    return [
        f"| `points_verify` ≤ {VERIFY_SECONDS_TARGET:g} s after a day of churn (no VACUUM since the nightly sweep) | "
        f"{_spread(verify.runs)}{'' if verify.ok else ' **FAILED**'} | {_met(verify.median <= VERIFY_SECONDS_TARGET)} |"
    ]


def _churn_rows(churn: ChurnResult | None) -> list[str]:
    from points.services.expiry import MAINTAIN_AFTER_LOTS

    if churn is None:
        return []
    verify = churn.verify
    errors = ", ".join(f"{name} ×{count}" for name, count in churn.errors.items()) or "none"
    return [
        f"| after the nightly sweep (with `ledger_maintain`), then a day of churn — {churn.spends:,} spends "
        f"({CHURN_CLIENTS} clients, errors: {errors}), {churn.refunds:,} refunds, {churn.swept_lots:,} lots expired "
        f"(`expire_accounts`, under the {MAINTAIN_AFTER_LOTS:,}-lot VACUUM threshold), {churn.seconds:.0f} s, "
        f"nothing vacuumed | {len(verify.runs)} | {_spread(verify.runs)}{_cpu_list(verify)} | "
        f"{', '.join(f'{load:.1f}' for load in verify.loads)} |"
    ]


def render(
    info: dict[str, str],
    args: argparse.Namespace,
    spends: tuple[list[SpendResult], bool] | None,
    expiry: ExpiryBench | None,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> str:
    lines = [
        f"Written by `{common.command_line()}`.",
        "",
        common.machine_table(info),
        "",
        f"Load average (1/5/15 min) at the start {'/'.join(f'{x:.1f}' for x in load[0])}, at the end "
        f"{'/'.join(f'{x:.1f}' for x in load[1])}, on {info['cores']} cores: other work on the machine (here, "
        "other test suites) slows every figure down, the more the higher the load.",
        "",
    ]
    if spends:
        lines += _render_spends(args, *spends)
    if expiry:
        lines += _render_expiry(expiry, args.repeat)
    lines += [
        "### Reproduce",
        "",
        "```sh",
        "psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE pm_bench'   # optional: the benchmark creates it",
        f"DATABASE_URL={common.EXAMPLE_DATABASE_URL} .venv/bin/python manage.py migrate   # optional: it migrates",
        f"DATABASE_URL={common.EXAMPLE_DATABASE_URL} .venv/bin/python -m bench.ledger           # full run",
        f"DATABASE_URL={common.EXAMPLE_DATABASE_URL} .venv/bin/python -m bench.ledger --quick   # 100,000 lots",
        "```",
        "",
        "Options: `--lots N`, `--clients N`, `--spend-seconds S`, `--batch-sizes 1000,5000`, `--repeat N`, "
        "`--orm-sample N`, `--verify-runs N`, `--skip-spends`, `--skip-expiry`, `--skip-churn`, `--churn-spends N`, "
        "`--no-report`. "
        "The script refuses any database that is not Postgres named `pm_bench*`, because it truncates tables; "
        "each expiry run works on a copy named `<database>_run`, dropped afterwards. It never fails on a timing.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 lots, 3 s spend runs, 1,000-lot ORM samples")
    parser.add_argument("--lots", type=int, help="lots in the expiry data set (default 1,000,000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent spending clients (default 8)")
    parser.add_argument("--spend-seconds", type=float, help="length of each spend run (default 10)")
    parser.add_argument("--spend-accounts", type=int, default=10_000, help="members in the spend data set")
    parser.add_argument("--batch-sizes", default="1000,5000", help="points_expire batch sizes to try")
    parser.add_argument("--orm-sample", type=int, help="due lots per run of the ORM loops (default 5,000)")
    parser.add_argument("--verify-runs", type=int, help="timed points_verify runs (default 3)")
    parser.add_argument("--repeat", type=int, help="runs of each expiry contender, interleaved (default 3)")
    parser.add_argument("--skip-spends", action="store_true")
    parser.add_argument("--skip-expiry", action="store_true")
    parser.add_argument("--skip-churn", action="store_true", help="skip the 'after a day of churn' verify state")
    parser.add_argument("--churn-spends", type=int, help="spends in the day of churn (default 1%% of --lots)")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.lots = args.lots or (100_000 if args.quick else 1_000_000)
    args.spend_seconds = args.spend_seconds or (3.0 if args.quick else 10.0)
    args.orm_sample = args.orm_sample or (1_000 if args.quick else 5_000)
    args.verify_runs = args.verify_runs or 3
    args.repeat = args.repeat or 3
    args.batch_sizes = [int(size) for size in args.batch_sizes.split(",") if size.strip()]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    common.setup()
    info = common.machine()
    load_start = os.getloadavg()
    progress(f"ledger benchmark on {info['cpu']} ×{info['cores']}, Postgres {info['postgres']}")
    spends = expiry = None
    if not args.skip_spends:
        spends = bench_spends(clients=args.clients, accounts=args.spend_accounts, seconds=args.spend_seconds)
    if not args.skip_expiry:
        expiry = bench_expiry(
            lots=args.lots,
            batch_sizes=args.batch_sizes,
            orm_sample=args.orm_sample,
            verify_runs=args.verify_runs,
            repeat=args.repeat,
            churn=not args.skip_churn,
            churn_spends=args.churn_spends,
        )
    body = render(info, args, spends, expiry, (load_start, os.getloadavg()))
    print()
    print(body)
    if not args.no_report:
        common.write_section("Ledger", body)
        progress(f"wrote the Ledger section of {common.REPORT_PATH}")


if __name__ == "__main__":
    main()
