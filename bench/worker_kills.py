"""Kill Celery workers in the middle of the expiry sweep and count what was lost or done twice.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python -m bench.worker_kills [--kills 20] [--accounts 20000] [--visibility-timeout 10]

Each round builds a ledger with due lots (bench.ledger_data), starts a real worker (a
subprocess: prefork, one pool process), enqueues ``points.expire`` and, once a random share of
the due lots has expired (plus a random instant, so the kill lands inside a batch too), SIGKILLs
in turn:

- ``child``: the pool process running the job; the worker's main process stays up;
- ``worker``: the whole worker (main process and pool process: a host or container dying);
- ``main``: the main process only; its pool process is orphaned and finishes the sweep while
  the job, never acknowledged, comes back after the visibility timeout to a new worker.

A new worker is started after a ``worker`` or ``main`` kill. The round ends when the job has
succeeded and every due lot expired, or after a bound (visibility timeout + 60 s): "lost" are
the due lots left. "Doubled" are lots with more than one expiry movement and accounts with more
than one expiry entry; ``points_verify`` must pass. The redelivery delay is from the kill to the
worker log saying it received the job again.

tests/test_worker_kills.py runs the same rounds (5) on the test database; this script runs 20 by
default and writes its figures into docs/reliability.md ("Worker kills"). Figures, not a test:
it never fails on a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RELIABILITY_PATH = ROOT / "docs" / "reliability.md"
EXAMPLE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pm_bench"
MODES = ("child", "worker", "main")


def database_url() -> str:
    """The URL of the database Django is connected to now (the test database inside pytest)."""
    from django.db import connection

    params = connection.settings_dict
    user = quote(params.get("USER") or "")
    password = quote(params.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"


def worker_env(*, visibility_timeout: int) -> dict[str, str]:
    """The environment of a worker on the current database and Redis, with a short visibility
    timeout and limits inside it (the settings refuse a hard limit past the timeout)."""
    from django.conf import settings

    from bench import common

    hard = max(2, visibility_timeout - 2)
    soft = hard - 1
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "worker-kills-" + "x" * 40,
        **common.shared_secrets_env(),
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": str(visibility_timeout),
        "CELERY_TASK_SOFT_TIME_LIMIT_SECONDS": str(soft),
        "CELERY_TASK_TIME_LIMIT_SECONDS": str(hard),
        "CELERY_LONG_TASK_SOFT_TIME_LIMIT_SECONDS": str(soft),
        "CELERY_LONG_TASK_TIME_LIMIT_SECONDS": str(hard),
    }


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc; Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class Worker:
    """A ``celery worker`` subprocess in its own process group (prefork, one pool process)."""

    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, *, env: dict[str, str], log: Path, name: str) -> Worker:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "pointsmall",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        output = log.open("ab")
        try:
            process = subprocess.Popen(  # noqa: S603 (fixed arguments, no outside input)
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            output.close()
        return cls(process=process, log=log)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the worker did not start:\n{self.text()[-3000:]}")
            time.sleep(0.05)

    def received(self, task_id: str) -> int:
        """How many times this worker logged receiving task ``task_id``."""
        return self.text().count(f"[{task_id}] received")

    def pool_process(self) -> int:
        deadline = time.monotonic() + 10
        while not (children := _children(self.process.pid)):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker has no pool process")
            time.sleep(0.02)
        return children[0]

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL to the whole group (an orphaned pool process too)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@dataclass(frozen=True)
class RoundResult:
    mode: str
    due_lots: int
    killed_at_fraction: float
    redelivery_seconds: float | None
    recovery_seconds: float | None
    lost_lots: int
    doubled_lots: int
    doubled_entries: int
    verify_ok: bool
    state: str

    @property
    def clean(self) -> bool:
        return (
            self.redelivery_seconds is not None
            and self.recovery_seconds is not None
            and self.lost_lots == 0
            and self.doubled_lots == 0
            and self.doubled_entries == 0
            and self.verify_ok
        )


def _scalar(sql: str, params: list | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return int(cursor.fetchone()[0])


def expired_lots(as_of) -> int:
    return _scalar("SELECT COUNT(*) FROM points_lot WHERE expires_at <= %s AND remaining = 0", [as_of])


def ledger_effects(as_of) -> dict[str, int]:
    """Due lots left, lots expired more than once, accounts with more than one expiry entry,
    and lots not due that were touched."""
    return {
        "lost": _scalar("SELECT COUNT(*) FROM points_lot WHERE expires_at <= %s AND remaining > 0", [as_of]),
        "doubled_lots": _scalar(
            "SELECT COUNT(*) FROM (SELECT m.lot_id FROM points_lotmovement m JOIN points_entry e ON e.id = m.entry_id"
            " WHERE e.kind = 'expire' GROUP BY m.lot_id HAVING COUNT(*) > 1) d"
        ),
        "doubled_entries": _scalar(
            "SELECT COUNT(*) FROM (SELECT account_id FROM points_entry WHERE kind = 'expire'"
            " GROUP BY account_id HAVING COUNT(*) > 1) d"
        ),
        "not_due_touched": _scalar(
            "SELECT COUNT(*) FROM points_lot WHERE expires_at > %s AND remaining <> amount", [as_of]
        ),
    }


def kill_round(
    *,
    mode: str,
    accounts: int,
    visibility_timeout: int,
    workdir: Path,
    rng: random.Random,
    number: int = 1,
    log: Callable[[str], None] = lambda _message: None,
) -> RoundResult:
    """One kill (see the module docstring). Leaves no process behind."""
    from celery.result import AsyncResult
    from django.utils import timezone

    from bench.ledger_data import LedgerShape, build_ledger
    from points import services
    from pointsmall.celery import app

    assert mode in MODES
    shape = LedgerShape(accounts=accounts, lots_per_account=3, due_per_account=2)
    now = timezone.now()
    build_ledger(shape, now)
    env = worker_env(visibility_timeout=visibility_timeout)
    first = Worker.start(env=env, log=workdir / f"round{number}-first.log", name=f"kills{number}a")
    workers = [first]
    try:
        first.wait_ready()
        task_id = app.send_task("points.expire").id
        fraction = rng.uniform(0.1, 0.7)
        deadline = time.monotonic() + 60
        while expired_lots(now) < fraction * shape.due_lots:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sweep did not start:\n{first.text()[-3000:]}")
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.1))  # inside a batch, not only between two
        killed_at = expired_lots(now) / shape.due_lots
        child = first.pool_process()
        if killed_at >= 1:
            raise RuntimeError("the sweep ended before the kill: give it more accounts")
        if mode == "child":
            os.kill(child, signal.SIGKILL)
        elif mode == "worker":
            os.killpg(first.process.pid, signal.SIGKILL)
        else:
            os.kill(first.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        log(f"round {number}: killed the {mode} at {killed_at:.0%} of {shape.due_lots} due lots")
        if mode == "child":
            runner, seen = first, first.received(task_id)
        else:
            runner = Worker.start(env=env, log=workdir / f"round{number}-second.log", name=f"kills{number}b")
            workers.append(runner)
            seen = 0
        redelivery = recovery = None
        deadline = killed + visibility_timeout + 60
        state = "PENDING"
        while time.monotonic() < deadline:
            if redelivery is None and runner.received(task_id) > seen:
                redelivery = time.monotonic() - killed
            state = AsyncResult(task_id, app=app).state
            if redelivery is not None and state == "SUCCESS" and expired_lots(now) == shape.due_lots:
                recovery = time.monotonic() - killed
                break
            if state == "FAILURE":
                break
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.stop()
    effects = ledger_effects(now)
    result = RoundResult(
        mode=mode,
        due_lots=shape.due_lots,
        killed_at_fraction=killed_at,
        redelivery_seconds=redelivery,
        recovery_seconds=recovery,
        lost_lots=effects["lost"],
        doubled_lots=effects["doubled_lots"],
        doubled_entries=effects["doubled_entries"] + effects["not_due_touched"],
        verify_ok=services.points_verify().ok,
        state=state,
    )
    log(
        f"round {number}: {state}, redelivered after {_seconds(redelivery)}, done after {_seconds(recovery)}, "
        f"lost {result.lost_lots}, doubled {result.doubled_lots + result.doubled_entries}, verify "
        f"{'ok' if result.verify_ok else 'FAILED'}"
    )
    return result


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


@dataclass
class Summary:
    rounds: list[RoundResult] = field(default_factory=list)

    def by_mode(self, mode: str) -> list[RoundResult]:
        return [r for r in self.rounds if r.mode == mode]


def purge_queue() -> None:
    """Drop what an earlier, interrupted run left in the broker (this Redis database only)."""
    from pointsmall.celery import app

    app.control.purge()
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete("unacked", "unacked_index")


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a script
    import tempfile

    from bench import common

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--visibility-timeout", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL: the workers need a broker.")
    common.setup()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    purge_queue()
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="worker-kills-") as workdir:
        for number in range(1, args.kills + 1):
            summary.rounds.append(
                kill_round(
                    mode=MODES[(number - 1) % len(MODES)],
                    accounts=args.accounts,
                    visibility_timeout=args.visibility_timeout,
                    workdir=Path(workdir),
                    rng=rng,
                    number=number,
                    log=common.progress,
                )
            )
    purge_queue()
    body = report(summary, args=args, seed=seed, machine=common.machine_table(common.machine()))
    print(body)
    if not args.no_report:
        common.write_section("Worker kills", body, path=RELIABILITY_PATH)
        common.progress(f"wrote the 'Worker kills' section of {RELIABILITY_PATH}")


def report(summary: Summary, *, args: argparse.Namespace, seed: int, machine: str) -> str:
    from bench import common

    rows = []
    for mode in MODES:
        rounds = summary.by_mode(mode)
        if not rounds:
            continue
        delays = [r.redelivery_seconds for r in rounds if r.redelivery_seconds is not None]
        recoveries = [r.recovery_seconds for r in rounds if r.recovery_seconds is not None]
        rows.append(
            f"| {mode} | {len(rounds)} | {common.percentile(delays, 0.5):.1f} s"
            f" | {max(delays, default=float('nan')):.1f} s"
            f" | {max(recoveries, default=float('nan')):.1f} s | {sum(r.lost_lots for r in rounds)}"
            f" | {sum(r.doubled_lots + r.doubled_entries for r in rounds)}"
            f" | {sum(not r.verify_ok for r in rounds)} | {sum(r.clean for r in rounds)}/{len(rounds)} |"
        )
    kills = len(summary.rounds)
    return f"""Measured by `bench/worker_kills.py` (`{common.command_line()}`, seed {seed}): {kills} kills
of a real worker (prefork, one pool process) in the middle of `points.expire` over
{args.accounts:,} accounts ({args.accounts * 2:,} due lots, a few seconds of work), visibility
timeout {args.visibility_timeout} s (production: 30 min, `CELERY_VISIBILITY_TIMEOUT_SECONDS`).
The kill lands when a random 10–70 % of the due lots have expired, plus up to 0.1 s.
`child`: the pool process is killed, the main process puts the job back at once
(`task_reject_on_worker_lost`); `worker`: main and pool process are killed, a new worker
gets the job after the visibility timeout; `main`: only the main process is killed, its
orphaned pool process finishes the sweep and the job, never acknowledged, runs again on a
new worker (finding nothing due). Redelivery: from the kill to the worker receiving the job
again; done: until the job succeeded with every due lot expired. Lost: due lots left;
doubled: lots expired twice plus accounts with two expiry entries; verify: `points_verify`
failures.

| kill | kills | redelivery p50 | redelivery max | done max | lost | doubled | verify failed | clean |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{machine}
"""


if __name__ == "__main__":  # pragma: no cover
    main()
