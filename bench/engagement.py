"""Engagement benchmark: check-ins under concurrency, the leaderboard refresh and page, task events.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench .venv/bin/python -m bench.engagement [--quick]

It TRUNCATES the user, ledger and tasks tables, so it refuses any database that is not
Postgres named ``pm_bench*``. It prints figures as it goes and rewrites the
``## Check-in, tasks and leaderboard`` section of docs/benchmarks.md. It never fails on a
timing; it exits non-zero only when a correctness check (row counts, ``points_verify``) fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import common
from bench.common import progress

HEADING = "Check-in, tasks and leaderboard"
# Connections this benchmark leaves free for everyone else on the Postgres server.
SPARE_CONNECTIONS = 10
FULL_MEMBERS = 2_000
FULL_BOARD_MEMBERS = 20_000
FULL_TASK_CALLS = 500


# --- Data -----------------------------------------------------------------------------


def _tables() -> list[str]:
    from django.contrib.auth import get_user_model

    from points.models import Account, Entry, Lot, LotMovement
    from tasks.models import Checkin, LeaderboardStanding, Task, TaskEventReceipt, TaskProgress

    models = [
        LotMovement,
        Lot,
        Entry,
        Account,
        Checkin,
        TaskEventReceipt,
        TaskProgress,
        Task,
        LeaderboardStanding,
        get_user_model(),
    ]
    return [model._meta.db_table for model in models]


def truncate() -> None:
    """Empty users, the ledger and the tasks app's member rows (CASCADE: whatever points at users)."""
    from django.core.cache import cache
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(_tables())} RESTART IDENTITY CASCADE")
    cache.clear()


def make_members(count: int, *, prefix: str = "m") -> list[int]:
    """``count`` members with an unusable password and an open points account, in a few statements.

    ``bulk_create`` sends no post_save, so the accounts are bulk-created with ``account_open``'s
    defaults (the lowest tier) instead of one ``account_open`` call per member.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

    from points.models import Account, Tier

    user_model = get_user_model()
    stamp = time.time_ns()
    users = user_model.objects.bulk_create(
        [
            user_model(email=f"bench-{prefix}-{stamp}-{i}@bench.invalid", password=UNUSABLE_PASSWORD_PREFIX)
            for i in range(count)
        ],
        batch_size=2000,
    )
    tier = Tier.objects.order_by("rank").first()
    Account.objects.bulk_create([Account(user_id=user.pk, tier=tier) for user in users], batch_size=2000)
    return [user.pk for user in users]


def free_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int - (SELECT COUNT(*) FROM pg_stat_activity)")
        return int(cursor.fetchone()[0])


def queries_of(call) -> tuple[int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured.captured_queries), result


def _spread(values: list[float], unit: str = "", digits: int = 0) -> str:
    """median (min–max) of the runs."""
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}{unit}"
    return f"{statistics.median(values):,.{digits}f}{unit} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


# --- 1. Check-in throughput ------------------------------------------------------------


@dataclass
class CheckinRun:
    threads: int
    members: int
    seconds: float
    latencies: list[float]
    errors: Counter
    rows: int
    verify_ok: bool
    load: float

    @property
    def per_second(self) -> float:
        return self.members / self.seconds if self.seconds else 0.0


@dataclass
class CheckinBench:
    members: int
    queries: int
    runs: list[CheckinRun] = field(default_factory=list)

    def of(self, threads: int) -> list[CheckinRun]:
        return [run for run in self.runs if run.threads == threads]


def _threads_run(work: list[list], call, barrier_parties: int) -> tuple[float, list[float], Counter]:
    """Run ``call(item)`` for each item of each slice in its own thread (own DB connection,
    closed at the end), all starting together; returns wall time, per-call latencies, errors."""
    from django.db import connection

    barrier = threading.Barrier(barrier_parties + 1)
    latencies: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()

    def worker(items: list) -> None:
        mine: list[float] = []
        failed: Counter = Counter()
        try:
            connection.ensure_connection()
            barrier.wait(timeout=120)
            for item in items:
                began = time.perf_counter()
                try:
                    call(item)
                # A benchmark counts failures by kind instead of dying on the first one.
                except Exception as error:
                    failed[type(error).__name__] += 1
                mine.append(time.perf_counter() - began)
        except Exception as error:
            barrier.abort()
            failed[f"thread failed ({type(error).__name__}: {error})"] += 1
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                errors.update(failed)

    threads = [threading.Thread(target=worker, args=(items,)) for items in work]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=120)
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, latencies, errors


def bench_checkins(*, members: int, thread_counts: list[int], repeat: int) -> CheckinBench:
    from points.services import points_verify
    from tasks.models import Checkin
    from tasks.services import checkin_record, checkin_rules_seed

    truncate()
    checkin_rules_seed()
    probe = make_members(1, prefix="probe")[0]
    queries, result = queries_of(lambda: checkin_record(user_id=probe))
    progress(f"check-in: one check-in makes {queries} SQL statements ({result.points} points paid)")
    bench = CheckinBench(members, queries)
    for attempt in range(repeat):
        for threads in thread_counts:
            truncate()
            ids = make_members(members)
            load = os.getloadavg()[0]
            seconds, latencies, errors = _threads_run(
                [ids[i::threads] for i in range(threads)], lambda user_id: checkin_record(user_id=user_id), threads
            )
            rows = Checkin.objects.count()
            verified = points_verify().ok
            run = CheckinRun(threads, members, seconds, latencies, errors, rows, verified, load)
            bench.runs.append(run)
            progress(
                f"check-in: run {attempt + 1}/{repeat}, {threads} thread(s): {run.per_second:,.0f}/s, "
                f"p50 {common.percentile(latencies, 0.5) * 1000:.1f} ms, "
                f"p95 {common.percentile(latencies, 0.95) * 1000:.1f} ms; Checkin rows {rows:,} "
                f"(expected {members:,}), points_verify {'ok' if verified else 'FAILED'}, errors {dict(errors)}"
            )
    return bench


# --- 2. One member, many threads --------------------------------------------------------


@dataclass
class SameMember:
    threads: int
    wanted: int
    seconds: float
    rows: int
    entries: int
    fresh: int
    errors: Counter
    verify_ok: bool


def bench_same_member(*, wanted: int) -> SameMember:
    from django.utils import timezone

    from points.models import Entry
    from points.services import points_verify
    from pointsmall.kernel import clock
    from tasks.models import Checkin
    from tasks.services import checkin_record, checkin_rules_seed

    truncate()
    checkin_rules_seed()
    user_id = make_members(1, prefix="same")[0]
    threads = max(1, min(wanted, free_connections() - SPARE_CONNECTIONS))
    fresh = Counter()

    def call(_item) -> None:
        result = checkin_record(user_id=user_id)
        fresh["already" if result.already else "new"] += 1

    seconds, _latencies, errors = _threads_run([[None] for _ in range(threads)], call, threads)
    day = clock.business_date(timezone.now())
    rows = Checkin.objects.filter(member_id=user_id).count()
    entries = Entry.objects.filter(idempotency_key=f"checkin:{user_id}:{day.isoformat()}").count()
    verified = points_verify().ok
    outcome = SameMember(threads, wanted, seconds, rows, entries, fresh["new"], errors, verified)
    progress(
        f"same member: {threads} threads (of {wanted} wanted) in {seconds * 1000:.0f} ms: {rows} check-in row(s), "
        f"{entries} ledger entr{'y' if entries == 1 else 'ies'} checkin:{user_id}:{day}, {fresh['new']} call(s) "
        f"saw a new check-in, errors {dict(errors)}, points_verify {'ok' if verified else 'FAILED'}"
    )
    return outcome


# --- 3. Leaderboard ---------------------------------------------------------------------


@dataclass
class LeaderboardBench:
    wanted: int
    members: int
    earn_seconds: float
    ranked: dict[str, int]
    refresh: list[float]
    cold_ms: list[float]
    warm_ms: list[float]
    cold_queries: int
    warm_queries: int
    status: int
    verify_ok: bool


def bench_leaderboard(*, members: int, refresh_runs: int, requests: int, earn_budget: float) -> LeaderboardBench:
    from django.core.cache import cache
    from django.test import Client

    from accounts.models import User
    from points.enums import EarningSource
    from points.services import points_earn, points_verify
    from tasks.services import leaderboard_refresh

    truncate()
    ids = make_members(members, prefix="board")
    progress(f"leaderboard: {members:,} members; each earns once through points_earn (budget {earn_budget:g} s) ...")
    earned = 0
    start = time.perf_counter()
    for index, user_id in enumerate(ids):
        points_earn(
            user_id=user_id,
            amount=10 + (index * 37) % 990,
            idempotency_key=f"bench:board:{user_id}",
            source=EarningSource.PURCHASE,
        )
        earned += 1
        if earned % 1000 == 0:
            elapsed = time.perf_counter() - start
            progress(f"  {earned:,} earned in {elapsed:.0f} s ({earned / elapsed:,.0f}/s)")
            if elapsed > earn_budget:
                progress(f"  over budget: the leaderboard is measured with {earned:,} earners, not {members:,}")
                break
    earn_seconds = time.perf_counter() - start
    progress(f"leaderboard: {earned:,} points_earn calls in {earn_seconds:.1f} s ({earned / earn_seconds:,.0f}/s)")

    times = []
    for run in range(refresh_runs):
        with common.timed() as elapsed:
            report = leaderboard_refresh()
        times.append(elapsed[0])
        progress(f"leaderboard: refresh {run + 1}/{refresh_runs} in {elapsed[0]:.2f} s, ranked {report.ranked}")

    client = Client()
    client.force_login(User.objects.get(pk=ids[0]))
    url = "/leaderboard/?board=month"

    def get() -> tuple[float, int, int]:
        began = time.perf_counter()
        queries, response = queries_of(lambda: client.get(url))
        return (time.perf_counter() - began) * 1000, queries, response.status_code

    cold, warm, statuses = [], [], set()
    cold_queries = warm_queries = 0
    for _ in range(requests):
        cache.clear()
        ms, cold_queries, status = get()
        cold.append(ms)
        statuses.add(status)
    get()
    for _ in range(requests):
        ms, warm_queries, status = get()
        warm.append(ms)
        statuses.add(status)
    status = statuses.pop() if len(statuses) == 1 else -1
    verified = points_verify().ok
    progress(
        f"leaderboard page: cold median {statistics.median(cold):.1f} ms ({cold_queries} queries), warm median "
        f"{statistics.median(warm):.1f} ms ({warm_queries} queries), status {status}, points_verify "
        f"{'ok' if verified else 'FAILED'}"
    )
    return LeaderboardBench(
        members,
        earned,
        earn_seconds,
        report.ranked,
        times,
        cold,
        warm,
        cold_queries,
        warm_queries,
        status,
        verified,
    )


# --- 4. Task events and claims ----------------------------------------------------------


@dataclass
class TaskBench:
    tasks: int
    calls: int
    event_rates: list[float]
    event_queries: int
    completed_rows: int
    claim_rates: list[float]
    claim_queries: int
    claims: int
    verify_ok: bool


def _event_task(event: str, target: int, index: int):
    from tasks.models import Task

    task = Task(
        title=f"基准任务 {index}",
        title_en=f"Bench task {index}",
        reward_points=10,
        kind="one_off",
        completion="event",
        event=event,
        target=target,
    )
    task.full_clean()
    task.save()
    return task


def bench_tasks(*, tasks: int, calls: int, repeat: int) -> TaskBench:
    from points.services import points_verify
    from tasks.enums import TaskEvent
    from tasks.models import TaskProgress, TaskStatus
    from tasks.services import task_claim, task_event_record

    truncate()
    event = TaskEvent.REVIEW_POSTED
    for index in range(tasks):
        _event_task(event, calls + 10, index)
    claim_task = _event_task(TaskEvent.FRIEND_SIGNED_UP, 1, tasks)
    members = make_members(repeat + 1, prefix="events")
    event_queries, _completed = queries_of(
        lambda: task_event_record(user_id=members[-1], event=event, reference="bench:probe")
    )
    progress(f"task events: one {event} event over {tasks} tasks makes {event_queries} SQL statements")
    rates = []
    for run in range(repeat):
        user_id = members[run]
        with common.timed() as elapsed:
            for call in range(calls):
                task_event_record(user_id=user_id, event=event, reference=f"bench:{call}")
        rates.append(calls / elapsed[0])
        progress(f"task events: run {run + 1}/{repeat}: {calls:,} calls in {elapsed[0]:.2f} s, {rates[-1]:,.0f}/s")
    progressed = TaskProgress.objects.filter(progress=calls, status=TaskStatus.IN_PROGRESS).count()

    claimers = make_members(calls * repeat + 1, prefix="claim")
    for user_id in claimers:
        task_event_record(user_id=user_id, event=TaskEvent.FRIEND_SIGNED_UP, reference=f"bench:friend:{user_id}")
    claim_queries, _result = queries_of(lambda: task_claim(user_id=claimers[-1], task_id=claim_task.pk))
    progress(f"task claim: one claim makes {claim_queries} SQL statements")
    claim_rates = []
    for run in range(repeat):
        batch = claimers[run * calls : (run + 1) * calls]
        with common.timed() as elapsed:
            for user_id in batch:
                task_claim(user_id=user_id, task_id=claim_task.pk)
        claim_rates.append(len(batch) / elapsed[0])
        progress(f"task claim: run {run + 1}/{repeat}: {len(batch):,} claims, {claim_rates[-1]:,.0f}/s")
    claimed = TaskProgress.objects.filter(task=claim_task, status=TaskStatus.CLAIMED).count()
    verified = points_verify().ok
    progress(
        f"tasks: {progressed} progress rows at {calls:,}/{calls + 10:,} (expected {tasks * repeat}); "
        f"{claimed} claimed (expected {len(claimers)}); points_verify {'ok' if verified else 'FAILED'}"
    )
    return TaskBench(tasks, calls, rates, event_queries, progressed, claim_rates, claim_queries, claimed, verified)


# --- Report ---------------------------------------------------------------------------


def _ms(values: list[float], fraction: float) -> str:
    return f"{common.percentile(values, fraction) * 1000:.1f} ms"


def render_checkins(bench: CheckinBench, thread_counts: list[int]) -> list[str]:
    lines = [
        f"### Check-in throughput (`tasks.services.checkin_record`), {bench.members:,} members",
        "",
        f"Each of {bench.members:,} fresh members checks in once; T threads (one DB connection each, closed at the "
        "end) share them out and start together. A run's figures: check-ins per second over the wall time, and "
        "the p50/p95 latency of one call. Median of the runs (min–max in brackets). One check-in makes "
        f"**{bench.queries} SQL statements** (captured on one call; no task listens to the streak event here).",
        "",
        "| threads | runs | check-ins/s | p50 | p95 | Checkin rows = members | `points_verify` | errors "
        "| load at start |",
        "|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for threads in thread_counts:
        runs = bench.of(threads)
        errors: Counter = Counter()
        for run in runs:
            errors.update(run.errors)
        rows_ok = all(run.rows == bench.members for run in runs)
        verify_ok = all(run.verify_ok for run in runs)
        lines.append(
            f"| {threads} | {len(runs)} | {_spread([run.per_second for run in runs])} | "
            f"{_spread([common.percentile(run.latencies, 0.5) * 1000 for run in runs], ' ms', 1)} | "
            f"{_spread([common.percentile(run.latencies, 0.95) * 1000 for run in runs], ' ms', 1)} | "
            f"{'yes' if rows_ok else '**NO**'} ({', '.join(f'{run.rows:,}' for run in runs)}) | "
            f"{'ok' if verify_ok else '**FAILED**'} | "
            f"{', '.join(f'{name} ×{count}' for name, count in errors.items()) or 'none'} | "
            f"{', '.join(f'{run.load:.1f}' for run in runs)} |"
        )
    lines.append("")
    return lines


def render_same(same: SameMember) -> list[str]:
    reduced = (
        ""
        if same.threads == same.wanted
        else f" ({same.wanted} wanted; reduced to leave {SPARE_CONNECTIONS} of the server's connections to others)"
    )
    return [
        f"### One member, {same.threads} threads at once{reduced}",
        "",
        f"Wall time {same.seconds * 1000:,.0f} ms for all {same.threads} calls (the account lock makes them "
        f"queue). Check-in rows: **{same.rows}**; ledger entries with the key `checkin:<member>:<day>`: "
        f"**{same.entries}**; calls that saw a new check-in: {same.fresh} (the others got `already=True`); "
        f"errors: {', '.join(f'{n} ×{c}' for n, c in same.errors.items()) or 'none'}; `points_verify`: "
        f"{'ok' if same.verify_ok else '**FAILED**'}.",
        "",
    ]


def render_leaderboard(board: LeaderboardBench, requests: int) -> list[str]:
    short = (
        ""
        if board.members == board.wanted
        else f" (**{board.wanted:,} wanted**: creating the earnings took longer than the budget, so fewer)"
    )
    return [
        f"### Leaderboard: {board.members:,} members who earned this month{short}",
        "",
        f"Earnings made by one `points_earn` per member in one thread: {board.members:,} calls in "
        f"{board.earn_seconds:.1f} s ({board.members / board.earn_seconds:,.0f}/s). Boards ranked: "
        f"{', '.join(f'{name} {count:,}' for name, count in board.ranked.items())}.",
        "",
        "| measure | median (min–max) | SQL per call |",
        "|---|---:|---:|",
        f"| `leaderboard_refresh()` (all boards), {len(board.refresh)} runs | {_spread(board.refresh, ' s', 2)} | |",
        f"| GET `/leaderboard/?board=month`, cold (cache cleared before each), {requests} requests | "
        f"{_spread(board.cold_ms, ' ms', 1)} | {board.cold_queries} |",
        f"| the same, warm cache, {requests} requests | {_spread(board.warm_ms, ' ms', 1)} | {board.warm_queries} |",
        "",
        f"The page: a signed-in member (`django.test.Client`, `force_login`), in-process (no network, no "
        f"server); every response {board.status if board.status > 0 else '**not all the same**'}. "
        f"`points_verify` afterwards: {'ok' if board.verify_ok else '**FAILED**'}.",
        "",
    ]


def render_tasks(tasks: TaskBench) -> list[str]:
    return [
        "### Task events and claims, one thread",
        "",
        f"`task_event_record` of `review_posted` with {tasks.tasks} active event tasks for it (targets above the "
        f"calls, so every call advances all {tasks.tasks}), {tasks.calls:,} calls per run with new references; "
        "`task_claim` of a completed one-off task (one per member). Median of the runs (min–max).",
        "",
        "| call | calls/s | SQL per call |",
        "|---|---:|---:|",
        f"| `task_event_record` ({tasks.tasks} tasks) | {_spread(tasks.event_rates)} | {tasks.event_queries} |",
        f"| `task_claim` | {_spread(tasks.claim_rates)} | {tasks.claim_queries} |",
        "",
        f"Progress rows at exactly {tasks.calls:,} afterwards: {tasks.completed_rows} (expected "
        f"{tasks.tasks * len(tasks.event_rates)}); claimed rows: {tasks.claims:,}; `points_verify`: "
        f"{'ok' if tasks.verify_ok else '**FAILED**'}.",
        "",
    ]


def render(info, args, parts, load) -> str:
    checkins, same, board, tasks = parts
    lines = [
        f"Written by `{common.command_line()}`.",
        "",
        common.machine_table(info),
        "",
        f"Load average (1/5/15 min) at the start {'/'.join(f'{x:.1f}' for x in load[0])}, at the end "
        f"{'/'.join(f'{x:.1f}' for x in load[1])}, on {info['cores']} cores: other work on the machine slows every "
        "figure down, the more the higher the load. Threads share one Python process (the GIL): the thread "
        "figures measure the services and Postgres together, not a multi-process server.",
        "",
    ]
    reduced = [
        f"{name} {value:,} (not {full:,})"
        for name, value, full in [
            ("check-in members", args.members, FULL_MEMBERS),
            ("leaderboard earners", args.board_members, FULL_BOARD_MEMBERS),
            ("task calls per run", args.task_calls, FULL_TASK_CALLS),
        ]
        if value < full
    ]
    if reduced and not args.quick:
        lines += [
            f"Sizes reduced from the full defaults to keep the run near 15 minutes on this machine: "
            f"{', '.join(reduced)}.",
            "",
        ]
    if checkins:
        lines += render_checkins(checkins, args.threads)
    if same:
        lines += render_same(same)
    if board:
        lines += render_leaderboard(board, args.requests)
    if tasks:
        lines += render_tasks(tasks)
    lines += [
        "### Reproduce",
        "",
        "```sh",
        f"DATABASE_URL={common.EXAMPLE_DATABASE_URL} .venv/bin/python -m bench.engagement           # full run",
        f"DATABASE_URL={common.EXAMPLE_DATABASE_URL} .venv/bin/python -m bench.engagement --quick   # small sizes",
        "```",
        "",
        "Options: `--members N`, `--threads 1,4,16`, `--repeat N`, `--board-members N`, `--earn-budget S`, "
        "`--requests N`, `--task-calls N`, `--skip-checkins`, `--skip-leaderboard`, `--skip-tasks`, `--no-report`. "
        "It truncates the user, ledger and tasks tables, so it refuses any database that is not Postgres named "
        "`pm_bench*`. It never fails on a timing; it exits 1 when a correctness check fails.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engagement", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 check-in members, 2,000 leaderboard earners")
    parser.add_argument("--members", type=int, help="members checking in per run (default 2,000)")
    parser.add_argument("--threads", default="1,4,16", help="thread counts of the check-in runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure (default 3)")
    parser.add_argument("--same-threads", type=int, default=100, help="threads checking one member in")
    parser.add_argument("--board-members", type=int, help="members earning this month (default 20,000)")
    parser.add_argument("--earn-budget", type=float, default=300.0, help="seconds allowed to create earnings")
    parser.add_argument("--requests", type=int, default=50, help="leaderboard page requests, cold and warm")
    parser.add_argument("--tasks", type=int, default=10, help="active event tasks for the event")
    parser.add_argument("--task-calls", type=int, help="task_event_record / task_claim calls per run")
    parser.add_argument("--skip-checkins", action="store_true")
    parser.add_argument("--skip-leaderboard", action="store_true")
    parser.add_argument("--skip-tasks", action="store_true")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.members = args.members or (200 if args.quick else FULL_MEMBERS)
    args.board_members = args.board_members or (2_000 if args.quick else FULL_BOARD_MEMBERS)
    args.task_calls = args.task_calls or (100 if args.quick else FULL_TASK_CALLS)
    args.threads = [int(count) for count in args.threads.split(",") if count.strip()]
    return args


def _correct(parts, args) -> bool:
    checkins, same, board, tasks = parts
    checks = []
    if checkins:
        checks += [run.rows == checkins.members and run.verify_ok for run in checkins.runs]
    if same:
        checks.append(same.rows == 1 and same.entries == 1 and same.verify_ok)
    if board:
        checks.append(board.verify_ok and board.status == 200)
    if tasks:
        checks.append(tasks.verify_ok and tasks.completed_rows == tasks.tasks * len(tasks.event_rates))
    return all(checks)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    common.setup()
    from django.test.utils import setup_test_environment

    # The test client's host ("testserver") must be allowed; nothing else of the test setup matters here.
    setup_test_environment()
    info = common.machine()
    load_start = os.getloadavg()
    progress(f"engagement benchmark on {info['cpu']} ×{info['cores']}, Postgres {info['postgres']}")
    checkins = same = board = tasks = None
    if not args.skip_checkins:
        checkins = bench_checkins(members=args.members, thread_counts=args.threads, repeat=args.repeat)
        same = bench_same_member(wanted=args.same_threads)
    if not args.skip_leaderboard:
        board = bench_leaderboard(
            members=args.board_members, refresh_runs=args.repeat, requests=args.requests, earn_budget=args.earn_budget
        )
    if not args.skip_tasks:
        tasks = bench_tasks(tasks=args.tasks, calls=args.task_calls, repeat=args.repeat)
    parts = (checkins, same, board, tasks)
    body = render(info, args, parts, (load_start, os.getloadavg()))
    print()
    print(body)
    if not args.no_report:
        common.write_section(HEADING, body)
        progress(f"wrote the {HEADING} section of {common.REPORT_PATH}")
    if not _correct(parts, args):
        raise SystemExit("a correctness check failed (see above)")


if __name__ == "__main__":
    main()
