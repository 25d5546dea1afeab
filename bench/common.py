"""What every benchmark needs: a safe database, the machine's description, figures and the report file."""

from __future__ import annotations

import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

BENCH_DATABASE_PREFIX = "pm_bench"
EXAMPLE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pm_bench"
REPORT_PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
REPORT_PREAMBLE = """# Benchmarks

Figures measured by the scripts in `bench/` (benchmarks, not tests: they never fail on a
timing). Each script rewrites its own section of this file; the other sections are kept.

Every benchmark truncates tables, so it refuses to run unless `DATABASE_URL` points at a
**Postgres** database whose name starts with `pm_bench` (it creates and migrates that
database itself if needed).
"""


class RefusedDatabase(SystemExit):
    pass


def require_bench_database() -> None:
    """Stop unless the configured database is Postgres named pm_bench*: the benchmarks truncate tables."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    engine, name = database["ENGINE"], str(database.get("NAME") or "")
    if engine != "django.db.backends.postgresql" or not name.startswith(BENCH_DATABASE_PREFIX):
        raise RefusedDatabase(
            f"Refusing to run: the benchmarks TRUNCATE the ledger and user tables, so they only run on a "
            f"Postgres database whose name starts with {BENCH_DATABASE_PREFIX!r}; this one is {engine} {name!r}.\n"
            f"Run e.g.: DATABASE_URL={EXAMPLE_DATABASE_URL} .venv/bin/python -m bench.ledger"
        )


def ensure_database_exists() -> None:
    """Create the pm_bench* database when it is missing (connects to the server's 'postgres' database)."""
    import psycopg2
    from django.conf import settings

    database = settings.DATABASES["default"]
    params = {
        "dbname": "postgres",
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
    }
    server = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]])
            if cursor.fetchone() is None:
                # The name was checked against the pm_bench prefix; identifiers cannot be bound parameters.
                cursor.execute(f'CREATE DATABASE "{database["NAME"]}"')
                progress(f"created database {database['NAME']}")
    finally:
        server.close()


def setup() -> None:
    """Load Django on the bench database, create and migrate it, and stop logging queries."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")
    require_bench_database()
    ensure_database_exists()
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # DEBUG keeps every query of a long loop in memory; production runs without it.
    settings.DEBUG = False
    call_command("migrate", interactive=False, verbosity=0)


def shared_secrets_env() -> dict[str, str]:
    """The secrets a process started with the production settings (DJANGO_DEBUG=0) must share with
    this one to read what it wrote: the host clients' encrypted secrets, the payment PIN hashes."""
    from django.conf import settings

    return {
        "INTEGRATION_SECRETS_KEY": settings.INTEGRATION_SECRETS_KEY,
        "PAYMENT_PIN_PEPPERS": ",".join(f"{key_id}:{key}" for key_id, key in settings.PAYMENT_PIN_PEPPERS.items()),
    }


_STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", flush=True)


@contextmanager
def timed() -> Iterator[list[float]]:
    """Yields a one-element list that holds the elapsed seconds once the block ends."""
    elapsed = [0.0]
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - start


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1) of unsorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) so the next reading covers only what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    """Peak resident memory of this process since the last reset (or since it started)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes() -> int:
    """Resident memory of this process now."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a local process (e.g. this connection's Postgres backend), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime are the 14th and 15th fields of the stat line; fields here start at the 3rd.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def _git_revision() -> str:
    root = REPORT_PATH.parent.parent
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        revision = subprocess.run(  # noqa: S603 (fixed arguments, no outside input)
            [git, "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603 (fixed arguments, no outside input)
            [git, "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{revision} (with uncommitted changes)" if dirty else revision


def machine() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
    import django

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{_memory_gib():.1f} GiB",
        "postgres": (
            f"{server_version} at {connection.settings_dict.get('HOST') or 'local socket'} "
            f"(shared_buffers {shared_buffers}, synchronous_commit {synchronous_commit})"
        ),
        "python": f"{platform.python_version()}, Django {django.get_version()}",
        "revision": _git_revision(),
    }


def machine_table(info: dict[str, str]) -> str:
    rows = [
        ("date", info["date"]),
        ("CPU", f"{info['cpu']}, {info['cores']} cores"),
        ("memory", info["memory"]),
        ("Postgres", info["postgres"]),
        ("Python", info["python"]),
        ("code", f"git {info['revision']}"),
    ]
    return "\n".join(["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])


def write_section(heading: str, body: str, path: Path = REPORT_PATH) -> None:
    """Replace (or append) the ``## heading`` section of the report, keeping every other section."""
    text = path.read_text() if path.exists() else REPORT_PREAMBLE
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def command_line() -> str:
    return " ".join([".venv/bin/python -m bench." + Path(sys.argv[0]).stem, *sys.argv[1:]])


def celery_broker_set(broker_url: str, result_backend: str | None = None) -> None:
    """Send this process's jobs to ``broker_url`` (and results to ``result_backend`` when given)
    from now on. Changing the setting alone is not enough: the app keeps pooled producer
    connections and a per-thread result backend made for the old URL, so jobs would still go there."""
    from kombu import pools

    from pointsmall.celery import app

    app.conf.broker_url = broker_url
    if result_backend is not None:
        app.conf.result_backend = result_backend
    # kombu keeps connection and producer pools in process-wide registries keyed by the URL:
    # closing only the app's pool left a closed one registered, and the next publish to that
    # URL failed with "Acquire on closed pool". reset() closes and forgets them all.
    pools.reset()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.backend = None
