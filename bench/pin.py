"""Payment PIN check benchmark (issue #15): CPU time of one PIN check, the old hash against the new.

    .venv/bin/python -m bench.pin                  # 15 PBKDF2 checks, 200 batches of 100 keyed checks
    .venv/bin/python -m bench.pin --old 5 --new 50 --no-report

Old: ``check_password`` on a ``pbkdf2_sha256`` hash with Django's production iterations (what
every redemption paid before docs/decisions/0042). New: ``accounts.pin_hash.pin_hash_check`` on
a ``pin-hmac-sha256`` hash. CPU is this process's own time (``time.process_time``), so other
work on the machine changes it little; a keyed check is too quick to time alone, so it is
timed in batches and divided. The right PIN and a wrong one cost the same and alternate.
No database is touched. It prints the figures and rewrites the ``## Payment PIN check``
section of docs/benchmarks.md; it never fails on a figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench import common
from bench.common import percentile, progress

PIN, WRONG_PIN = "135790", "246813"
USER_ID = 42
BATCH = 100


def cpu_per_check(check: Callable[[str], bool], *, runs: int, batch: int) -> list[float]:
    """``runs`` figures: the CPU seconds of one check, each the mean over ``batch`` checks."""
    figures = []
    for run in range(runs):
        start = time.process_time()
        for index in range(batch):
            check(PIN if (run + index) % 2 == 0 else WRONG_PIN)
        figures.append((time.process_time() - start) / batch)
    return figures


def _summary(figures: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(figures),
        "p10": percentile(figures, 0.10),
        "p90": percentile(figures, 0.90),
        "min": min(figures),
        "max": max(figures),
        "runs": len(figures),
    }


def _time(seconds: float) -> str:
    if seconds >= 0.01:
        return f"{seconds * 1000:,.0f} ms"
    if seconds >= 0.001:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1_000_000:.1f} µs"


def _load() -> str:
    try:
        return "/".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def report(old: dict[str, float], new: dict[str, float], iterations: int, load: tuple[str, str]) -> str:
    import django

    rows = [
        (f"old: `pbkdf2_sha256`, {iterations:,} iterations (what `check_password` ran)", old, 1),
        ("new: `pin-hmac-sha256` (`pin_hash_check`)", new, BATCH),
    ]
    lines = [
        "Written by `" + common.command_line() + "`.",
        "",
        "| | |",
        "|---|---|",
        f"| date | {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} |",
        f"| CPU | {common._cpu_model()}, {os.cpu_count()} cores |",
        f"| Python | {platform.python_version()}, Django {django.get_version()} |",
        f"| code | git {common._git_revision()} |",
        "",
        f"Load average at the start {load[0]}, at the end {load[1]} (other work on the machine). CPU is the "
        "process's own time for one PIN check (right and wrong PINs alternate; they cost the same), the "
        "median of the runs with the spread between the 10th and 90th percentiles and the extremes.",
        "",
        "| scheme | runs × checks | CPU per check (median) | p10 – p90 | min – max | checks per CPU-second |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for title, figures, batch in rows:
        lines.append(
            f"| {title} | {figures['runs']:.0f} × {batch} | {_time(figures['median'])} | "
            f"{_time(figures['p10'])} – {_time(figures['p90'])} | {_time(figures['min'])} – {_time(figures['max'])} | "
            f"{1 / figures['median']:,.0f} |"
        )
    lines += [
        "",
        f"The new check is ~{old['median'] / new['median']:,.0f} times cheaper. For the issue's 64 members "
        f"redeeming at once, the PIN checks alone were {64 * old['median']:.1f} CPU-seconds and are now "
        f"{64 * new['median'] * 1000:.2f} CPU-milliseconds. Why a fast keyed hash is as safe for a 6-digit PIN "
        "(the online lock-out, a pepper outside the database): docs/decisions/0042-payment-pin-hash.md.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=int, default=15, help="PBKDF2 checks, each timed alone (default 15)")
    parser.add_argument("--new", type=int, default=200, help=f"batches of {BATCH} keyed checks (default 200)")
    parser.add_argument("--no-report", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if not (1 <= args.old <= 1000 and 1 <= args.new <= 100_000):
        parser.error("--old must be 1..1000 and --new 1..100000")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")
    import django

    django.setup()
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from accounts.pin_hash import pin_hash_check, pin_hash_make

    load_start = _load()
    hasher = PBKDF2PasswordHasher()  # Django's own, with its production iterations whatever PASSWORD_HASHERS says
    old_hash = hasher.encode(PIN, hasher.salt())
    new_hash = pin_hash_make(user_id=USER_ID, pin=PIN)
    assert hasher.verify(PIN, old_hash) and not hasher.verify(WRONG_PIN, old_hash)
    assert pin_hash_check(user_id=USER_ID, pin=PIN, stored=new_hash).matches

    progress(f"old: {args.old} PBKDF2 checks of {hasher.iterations:,} iterations …")
    old = _summary(cpu_per_check(lambda pin: hasher.verify(pin, old_hash), runs=args.old, batch=1))
    progress(f"old: {_time(old['median'])} per check (median)")
    progress(f"new: {args.new} batches of {BATCH} keyed checks …")
    new = _summary(
        cpu_per_check(
            lambda pin: pin_hash_check(user_id=USER_ID, pin=pin, stored=new_hash).matches, runs=args.new, batch=BATCH
        )
    )
    progress(f"new: {_time(new['median'])} per check (median)")

    text = report(old, new, hasher.iterations, (load_start, _load()))
    print(text)
    if not args.no_report:
        common.write_section("Payment PIN check", text)
        progress(f"wrote the 'Payment PIN check' section of {common.REPORT_PATH}")


if __name__ == "__main__":
    main()
