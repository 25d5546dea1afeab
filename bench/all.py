"""The performance benchmarks of issues #15, #18 and #19, one after another, on a quiet machine.

    .venv/bin/python -m bench.all [--only ledger,spend,pages,web,flash] [--quick] [--dry-run]

Each benchmark runs in its own process on its own ``pm_bench_<name>`` database (created and
migrated by the benchmark) and Redis database number, with the same full-size defaults its
own command has; each rewrites its own section of docs/benchmarks.md. The load average is
printed before each: the figures are only worth what the machine's quiet was, so run this
with nothing else on the machine (no test suite, no helper, no server). A failed benchmark
is reported and the next one still runs; the exit status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    redis_db: int
    what: str


# In the order they are best run: the in-process ones first, the HTTP ones (which start
# gunicorn and a load generator) last.
BENCHMARKS = (
    Benchmark("ledger", "bench.ledger", 11, "#19, #15 P5/P6: expiry sweep vs plain SQL and a per-member loop; verify"),
    Benchmark("spend", "bench.spend", 12, "#15 P9, #19: statements per spend; points_spend vs one SQL function"),
    Benchmark("pages", "bench.pages", 13, "#15 P3/P8: member pages in process, queries and renders"),
    Benchmark("web", "bench.web", 14, "#15 P1-P4, P7, P8, P10 over HTTP against the framework floor"),
    Benchmark("flash", "bench.flash_crowd", 15, "#18: 1,000 buyers for 100 units of one flash item"),
)


def load_average() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def command(benchmark: Benchmark, *, quick: bool) -> list[str]:
    return [sys.executable, "-m", benchmark.module, *(["--quick"] if quick else [])]


def environment(benchmark: Benchmark) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{POSTGRES}/pm_bench_{benchmark.name}",
        "REDIS_URL": f"{REDIS}/{benchmark.redis_db}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated names: " + ",".join(b.name for b in BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="each benchmark's --quick (development sizes)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and stop")
    args = parser.parse_args(argv)
    chosen = BENCHMARKS
    if args.only:
        names = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = names - {b.name for b in BENCHMARKS}
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        chosen = tuple(b for b in BENCHMARKS if b.name in names)
    failed: list[str] = []
    for benchmark in chosen:
        argv_ = command(benchmark, quick=args.quick)
        env = environment(benchmark)
        print(
            f"== {benchmark.name} ({benchmark.what})\n   DATABASE_URL={env['DATABASE_URL']} "
            f"REDIS_URL={env['REDIS_URL']} {' '.join(argv_[1:])}\n   load average {load_average()}",
            flush=True,
        )
        if args.dry_run:
            continue
        started = time.monotonic()
        status = subprocess.call(argv_, cwd=ROOT, env=env)  # noqa: S603 (fixed arguments)
        print(f"== {benchmark.name}: exit {status} after {time.monotonic() - started:.0f} s", flush=True)
        if status != 0:
            failed.append(benchmark.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
