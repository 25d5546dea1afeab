"""Ledger benchmark (issue #3): concurrent spends, the expiry sweep against its baselines, verify.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench .venv/bin/python -m bench.ledger [--quick]

It TRUNCATES the ledger and user tables, so it refuses any database that is not Postgres
named ``pm_bench*``. It prints figures as it goes and rewrites the ``## Ledger`` section of
docs/benchmarks.md. It never fails on a timing: targets are reported as met or missed.

Each expiry contender runs on its own copy of one freshly built data set
(``CREATE DATABASE ... TEMPLATE``), so all of them start from byte-identical tables.
"""

from __future__ import annotations

import argparse
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
    verify_ok: bool = False
    verify_seconds: float = 0.0

    @property
    def lots_per_second(self) -> float:
        return self.lots / self.seconds


@dataclass
class Contender:
    name: str
    sample: bool = False
    runs: list[ExpiryRun] = field(default_factory=list)

    @property
    def best(self) -> ExpiryRun:
        return min(self.runs, key=lambda run: run.seconds)

    @property
    def lots_per_second(self) -> float:
        return self.best.lots_per_second

    @property
    def cpu_lots_per_second(self) -> float | None:
        """Lots per CPU second (this process + its Postgres backend), best run; None when unmeasurable."""
        rates = [run.lots / (run.python_cpu + run.postgres_cpu) for run in self.runs if run.postgres_cpu is not None]
        return max(rates) if rates else None


@dataclass
class VerifyResult:
    entries: int
    runs: list[float]
    per_check: list[tuple[str, float]]
    ok: bool
    postgres_cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def best_cpu(self) -> float | None:
        return min(self.postgres_cpu) if self.postgres_cpu else None


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


def expire_orm_per_row(as_of: datetime, *, offset: int, size: int, one_transaction: bool) -> tuple[int, int]:
    """The naive job: for each due lot, lock the account, write an entry and a movement, empty the lot."""
    from django.db import transaction
    from django.utils import timezone

    now = timezone.now()
    sample = _due_sample(as_of, offset, size)
    points = 0
    if one_transaction:
        with transaction.atomic():
            for lot_id, account_id in sample:
                points += _expire_one_lot_naively(lot_id, account_id, now)
    else:
        for lot_id, account_id in sample:
            with transaction.atomic():
                points += _expire_one_lot_naively(lot_id, account_id, now)
    return len(sample), points


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


def _measure(contender: Contender, run: Callable[[], tuple[int, int]]) -> None:
    """Time ``run`` on the current working copy, with CPU, memory and the load it ran under; then verify."""
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
    result = ExpiryRun(lots, points, elapsed[0], python_cpu, postgres_cpu, rss_before, common.peak_rss_bytes(), load)
    cpu = f", CPU {python_cpu:.1f} s Python + {postgres_cpu:.1f} s Postgres" if postgres_cpu is not None else ""
    progress(
        f"{contender.name}: {lots:,} lots, {points:,} points in {elapsed[0]:.2f} s = "
        f"{result.lots_per_second:,.0f} lots/s{cpu} (load {load:.1f})"
    )
    result.verify_ok, result.verify_seconds = _verify(contender.name)
    contender.runs.append(result)


def _service_run(as_of: datetime, batch_size: int) -> Callable[[], tuple[int, int]]:
    from points.services import BatchReport, points_expire

    def run() -> tuple[int, int]:
        last_print = [time.perf_counter()]

        def report_progress(report: BatchReport) -> None:
            if time.perf_counter() - last_print[0] >= 10:
                last_print[0] = time.perf_counter()
                progress(f"  ... {report.batches} batches, {report.lots:,} lots, {report.members:,} members")

        report = points_expire(as_of=as_of, batch_size=batch_size, progress=report_progress)
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

    def contender(self, name: str) -> Contender:
        return next(c for c in self.contenders if c.name == name)


PLAIN_SQL = "plain SQL, one transaction"
ORM_PER_LOT = "per-row ORM loop, a transaction per lot"
ORM_ONE_TRANSACTION = "per-row ORM loop, one transaction"


def bench_verify(runs: int) -> VerifyResult:
    from django.db import connection

    from points.services import points_verify
    from points.services.verify import CHECKS

    times: list[float] = []
    cpu: list[float] = []
    ok = True
    entries = 0
    backend = _postgres_backend_pid()
    for attempt in range(runs):
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
    per_check = []
    with connection.cursor() as cursor:
        for name, _description, sql in CHECKS:
            # The same wrapping points_verify uses, so the parts add up to the whole.
            with common.timed() as elapsed:
                if sql is None:  # a schema check (introspection), not a query over rows
                    connection.introspection.get_constraints(cursor, "points_entry")
                else:
                    cursor.execute(f"SELECT * FROM ({sql}) v LIMIT 50")
                    cursor.fetchall()
            per_check.append((name, elapsed[0]))
            progress(f"verify: check {name}: {elapsed[0]:.2f} s")
    return VerifyResult(entries, times, per_check, ok, cpu)


def bench_expiry(*, lots: int, batch_sizes: list[int], orm_sample: int, verify_runs: int, repeat: int) -> ExpiryBench:
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

    # 2. every contender on its own copy; full runs interleaved so a busy spell on the machine
    # does not land on one contender only.
    full = {f"points_expire, batch {size:,}": _service_run(built_at, size) for size in batch_sizes}
    full[PLAIN_SQL] = lambda: expire_plain_sql(built_at)
    contenders = [Contender(name) for name in full]
    for attempt in range(repeat):
        for contender in contenders:
            progress(f"expiry: {contender.name}, run {attempt + 1}/{repeat} ...")
            with working_copy():
                _measure(contender, full[contender.name])
    sample = min(orm_sample, due_lots // 2)
    per_lot, one_transaction = Contender(ORM_PER_LOT, sample=True), Contender(ORM_ONE_TRANSACTION, sample=True)
    progress(f"expiry: per-row ORM loop on {sample:,} lots, twice ...")
    with working_copy():
        _measure(per_lot, lambda: expire_orm_per_row(built_at, offset=0, size=sample, one_transaction=False))
        _measure(
            one_transaction, lambda: expire_orm_per_row(built_at, offset=sample, size=sample, one_transaction=True)
        )
    contenders += [per_lot, one_transaction]
    return ExpiryBench(shape, build_time[0], due_lots, due_points, contenders, verify)


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
    best_service_cpu = max(services, key=lambda c: c.cpu_lots_per_second or 0)
    samples = [c for c in expiry.contenders if c.sample]
    fastest_orm = max(samples, key=lambda c: c.lots_per_second)
    fastest_orm_cpu = max(samples, key=lambda c: c.cpu_lots_per_second or 0)
    lines = [
        f"### Expiry (`points_expire`): {shape.lots:,} lots, {expiry.due_lots:,} due, over {shape.accounts:,} members",
        "",
        f"The data set — {shape.lots:,} earn entries, lots and movements, {shape.lots_per_account} lots per member, "
        f"the {shape.due_per_account} oldest of each due ({expiry.due_points:,} points) — is built with set-based SQL "
        f"in {expiry.build_seconds:.0f} s and passes `points_verify`. Every run below starts from its own "
        "byte-identical copy of it (`CREATE DATABASE … TEMPLATE`) and is checked by `points_verify` afterwards. "
        f"Full contenders ran {repeat} time(s), interleaved; the best run counts (the least disturbed by other work "
        "on the machine). CPU is this process plus its Postgres backend (WAL writer and checkpointer not included): "
        "on a busy machine it is the steadier measure of the work each contender does.",
        "",
        "| contender | lots | best time | every run | lots/s | vs plain SQL | lots per CPU-s | vs plain SQL (CPU) | "
        "peak RSS (at start) | verify after |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for contender in expiry.contenders:
        best = contender.best
        cpu_rate = contender.cpu_lots_per_second
        cpu_ratio = _ratio(cpu_rate, plain.cpu_lots_per_second)
        verified = "ok" if all(run.verify_ok for run in contender.runs) else "**FAILED**"
        every = ", ".join(f"{run.seconds:.1f} s (load {run.load:.1f})" for run in contender.runs)
        lines.append(
            f"| {contender.name}{' (sample)' if contender.sample else ''} | {best.lots:,} | {best.seconds:.2f} s | "
            f"{every} | {contender.lots_per_second:,.0f} | {contender.lots_per_second / plain.lots_per_second:.2f}× | "
            f"{f'{cpu_rate:,.0f}' if cpu_rate else 'n/a'} | {f'{cpu_ratio:.2f}×' if cpu_ratio else 'n/a'} | "
            f"{_mib(best.peak_rss)} ({_mib(best.rss_before)}) | {verified} |"
        )
    full = [*services, plain]
    same_work = all(run.lots == expiry.due_lots and run.points == expiry.due_points for c in full for run in c.runs)
    service_ratio = best_service.lots_per_second / plain.lots_per_second
    service_cpu_ratio = _ratio(best_service_cpu.cpu_lots_per_second, plain.cpu_lots_per_second)
    orm_ratio = best_service.lots_per_second / fastest_orm.lots_per_second
    orm_cpu_ratio = _ratio(best_service_cpu.cpu_lots_per_second, fastest_orm_cpu.cpu_lots_per_second)
    verify = expiry.verify
    service_verdict = _verdict(
        service_ratio >= SERVICE_TO_PLAIN_SQL_TARGET,
        None if service_cpu_ratio is None else service_cpu_ratio >= SERVICE_TO_PLAIN_SQL_TARGET,
    )
    orm_verdict = _verdict(
        orm_ratio >= SERVICE_TO_ORM_TARGET, None if orm_cpu_ratio is None else orm_cpu_ratio >= SERVICE_TO_ORM_TARGET
    )
    verify_verdict = _verdict(
        verify.best <= VERIFY_SECONDS_TARGET,
        None if verify.best_cpu is None else verify.best_cpu <= VERIFY_SECONDS_TARGET,
    )

    def cpu_text(ratio: float | None, digits: int) -> str:
        return f"; {ratio:.{digits}f}× per CPU second" if ratio else ""

    lines += [
        "",
        f"Same work: every full run expired exactly the {expiry.due_lots:,} due lots and {expiry.due_points:,} points: "
        f"{'yes' if same_work else '**NO**'}. The per-row loops ran on samples of {fastest_orm.best.lots:,} lots; "
        f"their rate is extrapolated (all {expiry.due_lots:,} lots would take "
        f"~{expiry.due_lots / fastest_orm.lots_per_second / 60:.0f} min). Peak RSS is this Python process's "
        "(Django loaded); the service's memory stays flat because it works in batches.",
        "",
        "| target (issue #3) | measured | |",
        "|---|---|---|",
        f"| `points_expire` ≥ {SERVICE_TO_PLAIN_SQL_TARGET}× the plain SQL's speed | {service_ratio:.2f}× "
        f"({best_service.name.split(', ')[1]}){cpu_text(service_cpu_ratio, 2)} | "
        f"{service_verdict} |",
        f"| `points_expire` ≥ {SERVICE_TO_ORM_TARGET:g}× the per-row ORM loop | {orm_ratio:.0f}× (vs. its "
        f"faster variant){cpu_text(orm_cpu_ratio, 0)} | "
        f"{orm_verdict} |",
        f"| `points_verify` on {verify.entries:,} entries ≤ {VERIFY_SECONDS_TARGET:g} s | {verify.best:.2f} s "
        f"(best; median {verify.median:.2f} s)"
        f"{f'; {verify.best_cpu:.2f} s Postgres CPU' if verify.best_cpu is not None else ''} | "
        f"{verify_verdict} |",
        "",
        f"### Verify (`points_verify`): {verify.entries:,} entries, {shape.lots:,} lots and movements, "
        f"{shape.accounts:,} accounts",
        "",
        f"Runs: {', '.join(f'{run:.2f} s' for run in verify.runs)} "
        + (f"(Postgres CPU {', '.join(f'{cpu:.2f} s' for cpu in verify.postgres_cpu)}) " if verify.postgres_cpu else "")
        + f"— {'ok' if verify.ok else '**FAILED**'}. Each check alone (`points.services.verify.CHECKS`):",
        "",
        "| check | time |",
        "|---|---:|",
        *(f"| `{name}` | {seconds:.2f} s |" for name, seconds in verify.per_check),
        f"| total | {sum(seconds for _name, seconds in verify.per_check):.2f} s |",
        "",
    ]
    return lines


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
        "`--orm-sample N`, `--verify-runs N`, `--skip-spends`, `--skip-expiry`, `--no-report`. The script refuses "
        "any database that is not Postgres named `pm_bench*`, because it truncates tables; each expiry run works "
        "on a copy named `<database>_run`, dropped afterwards. It never fails on a timing.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 lots, 3 s spend runs, 1,000-lot ORM sample")
    parser.add_argument("--lots", type=int, help="lots in the expiry data set (default 1,000,000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent spending clients (default 8)")
    parser.add_argument("--spend-seconds", type=float, help="length of each spend run (default 10)")
    parser.add_argument("--spend-accounts", type=int, default=10_000, help="members in the spend data set")
    parser.add_argument("--batch-sizes", default="1000,5000", help="points_expire batch sizes to try")
    parser.add_argument("--orm-sample", type=int, help="lots the per-row ORM loop expires (default 5,000)")
    parser.add_argument("--verify-runs", type=int, help="timed points_verify runs (default 3)")
    parser.add_argument("--repeat", type=int, help="runs of each full expiry contender (default 2)")
    parser.add_argument("--skip-spends", action="store_true")
    parser.add_argument("--skip-expiry", action="store_true")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.lots = args.lots or (100_000 if args.quick else 1_000_000)
    args.spend_seconds = args.spend_seconds or (3.0 if args.quick else 10.0)
    args.orm_sample = args.orm_sample or (1_000 if args.quick else 5_000)
    args.verify_runs = args.verify_runs or (1 if args.quick else 3)
    args.repeat = args.repeat or (1 if args.quick else 2)
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
        )
    body = render(info, args, spends, expiry, (load_start, os.getloadavg()))
    print()
    print(body)
    if not args.no_report:
        common.write_section("Ledger", body)
        progress(f"wrote the Ledger section of {common.REPORT_PATH}")


if __name__ == "__main__":
    main()
