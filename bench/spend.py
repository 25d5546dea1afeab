"""Spend round trips (issues #15 P9, #19): one client's ``points_spend`` against one SQL function.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench .venv/bin/python -m bench.spend [--quick]

It TRUNCATES the ledger and user tables, so it refuses any database that is not Postgres named
``pm_bench*``. It builds members with 10 unexpired lots each (``bench.ledger_data``), creates the
hand-written plpgsql function ``bench_spend`` in that database only, and then:

1. counts the SQL statements of one ``points_spend`` in each case (one lot, two lots, a member's
   first spend, a spend with vesting and expiry due), beside the counts measured before issue #19's
   changes and after its first pass (``STATEMENTS_BEFORE``);
2. times one client spending 1–10 points round-robin over the members, through the service and
   through the function, in interleaved runs of equal length; the median of the runs counts, with
   their spread, the load average at the start of each and this process's CPU time per spend
   (Python, the driver: what a quiet machine cannot hide, unlike the waits for round trips).

It prints a table and rewrites the ``## Spend round trips (issues #15 P9, #19)`` section of
docs/benchmarks.md. It never fails on a timing: the target is reported as met or missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench import common
from bench.common import progress

SECTION = "Spend round trips (issues #15 P9, #19)"
SERVICE_TO_FUNCTION_TARGET = 0.5
LOTS_PER_MEMBER = 10

# Measured with this script's counting (``count_statements``): Postgres, outside any caller's
# transaction, BEGIN and COMMIT included. 6060e4c is the parent of issue #19's first change,
# 803b402 its first pass (separate replay read; totals, entry, lots and movements four statements).
STATEMENTS_BEFORE = {
    "6060e4c": {"first spend": 19, "one lot": 16, "two lots": 17, "vesting and expiry due": 31},
    "803b402": {"first spend": 14, "one lot": 10, "two lots": 10, "vesting and expiry due": 26},
}

# The same spend as one round trip: lock the account, answer a replayed key, check the points
# that are there (balance less held), take FIFO by expiry from the available unexpired lots,
# write the spend entry and its movements, update the cached totals. Like the service it
# refuses an overdraft and leaves expired or pending lots alone; unlike it, it settles nothing
# (no vesting, expiry or hold ending on the way), sends no signal and logs nothing.
_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION bench_spend(p_user bigint, p_amount bigint, p_key text, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    acc points_account%ROWTYPE;
    v_entry bigint;
    v_left bigint := p_amount;
    v_take bigint;
    lot record;
BEGIN
    SELECT * INTO acc FROM points_account WHERE user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no account for user %', p_user;
    END IF;
    SELECT id INTO v_entry FROM points_entry WHERE idempotency_key = p_key;
    IF FOUND THEN
        RETURN v_entry;
    END IF;
    IF acc.balance - acc.held < p_amount THEN
        RAISE EXCEPTION 'insufficient points: % available', acc.balance - acc.held;
    END IF;
    UPDATE points_account
    SET balance = balance - p_amount, lifetime_spent = lifetime_spent + p_amount, updated_at = p_now
    WHERE id = acc.id;
    INSERT INTO points_entry (account_id, kind, amount, pending_amount, debt_change, balance_after, pending_after,
                              reference, memo_code, memo_params, memo, source, idempotency_key, created_at)
    VALUES (acc.id, 'spend', -p_amount, 0, 0, acc.balance - p_amount, acc.pending,
            '', '', '{}'::jsonb, '', '', p_key, p_now)
    RETURNING id INTO v_entry;
    FOR lot IN
        SELECT id, remaining FROM points_lot
        WHERE account_id = acc.id AND status = 'available' AND remaining > 0
          AND (expires_at IS NULL OR expires_at > p_now)
        ORDER BY expires_at ASC NULLS LAST, id
    LOOP
        v_take := LEAST(lot.remaining, v_left);
        UPDATE points_lot SET remaining = remaining - v_take WHERE id = lot.id;
        INSERT INTO points_lotmovement (entry_id, lot_id, amount) VALUES (v_entry, lot.id, -v_take);
        v_left := v_left - v_take;
        EXIT WHEN v_left = 0;
    END LOOP;
    IF v_left > 0 THEN
        RAISE EXCEPTION 'account %: lots do not cover the balance', acc.id;
    END IF;
    RETURN v_entry;
END
$$
"""


@dataclass
class Run:
    spends: int
    seconds: float
    load: float
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.spends / self.seconds if self.seconds else 0.0


@dataclass
class Contender:
    name: str
    runs: list[Run] = field(default_factory=list)
    errors: int = 0

    @property
    def median(self) -> float:
        return statistics.median(run.per_second for run in self.runs)

    @property
    def cpu_ms(self) -> float:
        """This process's CPU milliseconds per spend over all runs (failed ones included)."""
        attempts = sum(run.spends for run in self.runs) + self.errors
        return 1000 * sum(run.cpu_seconds for run in self.runs) / attempts if attempts else 0.0

    def spread(self) -> str:
        rates = [run.per_second for run in self.runs]
        return f"{min(rates):,.0f}–{max(rates):,.0f}"


# --- statements per spend ----------------------------------------------------------------------


def count_statements(spend) -> tuple[int, list[str]]:
    """The statements one call sends, each a round trip to Postgres (Django logs BEGIN and COMMIT too)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        spend()
    return len(captured.captured_queries), [query["sql"] for query in captured.captured_queries]


def statements_per_case(first_member: int, settle_member: int) -> dict[str, int]:
    """Statements of one ``points_spend`` in each case, on members the timed runs do not use."""
    from django.utils import timezone

    from points.services import points_earn, points_spend

    def spend(user_id: int, amount: int, key: str):
        return lambda: points_spend(user_id=user_id, amount=amount, idempotency_key=key)

    counts = {}
    counts["first spend"], _sql = count_statements(spend(first_member, 1, "bench:count:first"))
    counts["one lot"], _sql = count_statements(spend(first_member, 1, "bench:count:one"))
    # The first lot holds 10..500 points: spending all of it and one point more takes from two lots.
    from points.models import Lot

    first_lot = Lot.objects.filter(account__user_id=first_member, remaining__gt=0).order_by("expires_at", "pk").first()
    counts["two lots"], _sql = count_statements(spend(first_member, first_lot.remaining + 1, "bench:count:two"))
    # A lot earned 3 days ago that vested yesterday, and one that expired yesterday: the spend settles both.
    now = timezone.now()
    points_spend(user_id=settle_member, amount=1, idempotency_key="bench:count:settle:warm")
    points_earn(
        user_id=settle_member,
        amount=50,
        idempotency_key="bench:count:settle:pending",
        now=now - timedelta(days=3),
        available_at=now - timedelta(days=1),
    )
    points_earn(
        user_id=settle_member,
        amount=50,
        idempotency_key="bench:count:settle:expiring",
        now=now - timedelta(days=3),
        expires_at=now - timedelta(days=1),
    )
    counts["vesting and expiry due"], _sql = count_statements(spend(settle_member, 1, "bench:count:settle"))
    return counts


# --- timed runs --------------------------------------------------------------------------------


def _service_spend(user_id: int, amount: int, key: str, now: datetime) -> None:
    from points.services import points_spend

    points_spend(user_id=user_id, amount=amount, idempotency_key=key)


def _function_spend(user_id: int, amount: int, key: str, now: datetime) -> None:
    from django.db import connection

    # Autocommit: the function is one statement, so one round trip and its own transaction.
    with connection.cursor() as cursor:
        cursor.execute("SELECT bench_spend(%s, %s, %s, %s)", [user_id, amount, key, now])


def timed_run(spend, members: list[int], seconds: float, label: str, rng: random.Random) -> tuple[Run, int]:
    from django.utils import timezone

    load = os.getloadavg()[0]
    errors = 0
    done = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        user_id = members[done % len(members)]
        try:
            spend(user_id, rng.randint(1, 10), f"{label}:{done}", timezone.now())
        # A benchmark counts failures instead of dying on the first one.
        except Exception:
            errors += 1
        done += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return Run(done - errors, elapsed, load, cpu), errors


def bench_rates(members: list[int], seconds: float, runs: int) -> list[Contender]:
    contenders = [Contender("points_spend (the service)"), Contender("bench_spend() (one plpgsql call)")]
    spends = [_service_spend, _function_spend]
    rng = random.Random(19)
    stamp = time.time_ns()
    for round_number in range(1, runs + 1):
        # Interleaved, the starting contender alternating: drift in the machine's load hits both alike.
        order = [0, 1] if round_number % 2 else [1, 0]
        for index in order:
            contender = contenders[index]
            run, errors = timed_run(spends[index], members, seconds, f"bench:p9:{stamp}:{index}:{round_number}", rng)
            contender.runs.append(run)
            contender.errors += errors
            progress(
                f"run {round_number}/{runs} {contender.name}: {run.spends:,} spends in {run.seconds:.1f} s, "
                f"{run.per_second:,.0f}/s (load {run.load:.1f}), errors {errors}"
            )
    return contenders


def warm(members: list[int]) -> None:
    """One spend per member first: a first spend costs more (rewards tied to it are looked up)."""
    from points.services import points_spend

    for user_id in members:
        points_spend(user_id=user_id, amount=1, idempotency_key=f"bench:p9:warm:{user_id}")


# --- report ------------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def render(info, args, counts, contenders, verified, load_start, load_end) -> str:
    service, function = contenders
    ratio = service.median / function.median if function.median else 0.0
    lines = [
        f"Written by `{common.command_line()}`.",
        "",
        common.machine_table(info),
        "",
        f"Load average (1/5/15 min) at the start {'/'.join(f'{x:.1f}' for x in load_start)}, at the end "
        f"{'/'.join(f'{x:.1f}' for x in load_end)}, on {info['cores']} cores: other work on the machine slows "
        f"every figure down, the more the higher the load.",
        "",
        "### Statements per spend",
        "",
        "SQL statements (each a round trip) one `points_spend` sends outside any caller's transaction, "
        "BEGIN and COMMIT included; one of them is the host-integration webhook's read of the member's host "
        "ids, and a first spend adds the referral lookup (its own SAVEPOINT/RELEASE pair). Earlier columns: "
        "measured the same way on the commits named. `tests/test_ledger_statements.py` pins the counts now.",
        "",
        f"| case | {' | '.join(STATEMENTS_BEFORE)} | now |",
        f"|---|{'---:|' * len(STATEMENTS_BEFORE)}---:|",
        *(
            f"| {case} | {' | '.join(str(before.get(case, '?')) for before in STATEMENTS_BEFORE.values())} | {count} |"
            for case, count in counts.items()
        ),
        "",
        "What went on 803b402: the separate reads for due holds (skipped when nothing is held), due",
        "vesting and due expiry (the spendable-lots read covers them; the account settles only when that",
        "read finds something due), the SAVEPOINT/RELEASE pair around the entry INSERT, one UPDATE per lot",
        "(now one for all), and the purchase-policy read on every spend that is not a member's first. Since:",
        "the replay read travels with the lot read (one UNION ALL after the lock), the totals UPDATE, the",
        "entry INSERT, the lots UPDATE and the movements INSERT are one data-modifying WITH, and the account",
        "lock's SQL is compiled once per process (client CPU, not round trips).",
        "",
        f"### One client: `points_spend` vs one SQL function, {args.seconds:g} s per run, {args.runs} runs each",
        "",
        f"One client (this process, one connection) spends 1–10 points round-robin over {len(args.members):,} "
        f"members with {LOTS_PER_MEMBER} unexpired lots each, every member spent from once before (no first "
        "spends). The function `bench_spend` (plpgsql, created in the bench database only) does the same work "
        "in one round trip: lock the account, answer a replayed key, check the points, take FIFO by expiry, "
        "update the lots, insert the entry and its movements, update the totals. Runs interleaved, the "
        "starting contender alternating; median of the runs, spread min–max, load average at each run's start; "
        "client CPU: this process's CPU time per spend (Python and the driver; Postgres' own time not included), "
        "which a busy machine inflates less than it inflates the waits.",
        "",
        "| contender | median spends/s | spread | runs (load) | client CPU ms/spend | errors |",
        "|---|---:|---|---|---:|---:|",
    ]
    for contender in contenders:
        runs = ", ".join(f"{run.per_second:,.0f} ({run.load:.1f})" for run in contender.runs)
        lines.append(
            f"| {contender.name} | {contender.median:,.0f} | {contender.spread()} | {runs} | "
            f"{contender.cpu_ms:.2f} | {contender.errors} |"
        )
    lines += [
        "",
        f"`points_verify` after the runs: {'ok' if verified else 'FAILED'}.",
        "",
        "| target (issue #15 P9) | measured | |",
        "|---|---|---|",
        f"| `points_spend` ≥ {SERVICE_TO_FUNCTION_TARGET}× the SQL function's rate (one client) | "
        f"{ratio:.2f}× ({service.median:,.0f}/s vs {function.median:,.0f}/s) | "
        f"{_met(ratio >= SERVICE_TO_FUNCTION_TARGET)} |",
    ]
    if ratio < SERVICE_TO_FUNCTION_TARGET:
        lines += [
            "",
            f"Why: the service still sends {counts['one lot']} statements per spend where the function sends one, "
            "and it runs Django's ORM, a signal and its receivers in Python between them. On a loaded machine "
            "each round trip also waits for the scheduler twice (client, then backend), so the ratio falls with the "
            "load average; what is left (BEGIN, the account lock, the webhook receiver's host-id read) is listed "
            "in docs/decisions/0046-spend-round-trips.md.",
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.spend", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s runs over 200 members")
    parser.add_argument("--accounts", type=int, help="members spent from (default 500)")
    parser.add_argument("--seconds", type=float, help="length of each run (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each contender (default 3, at least 3)")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.accounts = args.accounts or (200 if args.quick else 500)
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    if args.runs < 3:
        parser.error("--runs must be at least 3: the median of fewer says nothing about the spread")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    common.setup()
    from django.db import connection
    from django.utils import timezone

    from bench.ledger_data import LedgerShape, build_ledger
    from points.services import points_verify

    info = common.machine()
    load_start = os.getloadavg()
    progress(f"spend benchmark on {info['cpu']} ×{info['cores']}, Postgres {info['postgres']}")
    # Two members more than the timed runs use: one for the first-spend count, one for the settle count.
    build_ledger(LedgerShape(args.accounts + 2, LOTS_PER_MEMBER, 0), timezone.now())
    args.members = list(range(1, args.accounts + 1))
    with connection.cursor() as cursor:
        cursor.execute(_FUNCTION_SQL)
    counts = statements_per_case(args.accounts + 1, args.accounts + 2)
    progress(
        f"statements per spend ({' → '.join(STATEMENTS_BEFORE)} → now): "
        + ", ".join(
            f"{case} {' → '.join(str(before.get(case, '?')) for before in STATEMENTS_BEFORE.values())} → {count}"
            for case, count in counts.items()
        )
    )
    progress(f"warming: one spend for each of {args.accounts:,} members")
    warm(args.members)
    contenders = bench_rates(args.members, args.seconds, args.runs)
    report = points_verify()
    progress(f"points_verify after the runs: {'ok' if report.ok else report.violations[:5]}")
    body = render(info, args, counts, contenders, report.ok, load_start, os.getloadavg())
    print()
    print(body)
    if not args.no_report:
        common.write_section(SECTION, body)
        progress(f"wrote the '{SECTION}' section of {common.REPORT_PATH}")


if __name__ == "__main__":
    main()
