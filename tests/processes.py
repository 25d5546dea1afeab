"""Helpers for tests that start real processes (beat, gunicorn, the restore drill) against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one)."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def process_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process: this one's, on the test database, no Redis unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    env.update(DATABASE_URL=database_url(), REDIS_URL="", PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds`` (a liveness bound)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.2)


def settings_load_error(**overrides: str | None) -> str:
    """Load Django in a fresh interpreter with this environment and ``overrides`` (None removes a
    variable); assert the settings refused to load and return what the process wrote to stderr."""
    env = {**os.environ, **overrides}
    result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [PYTHON, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={name: value for name, value in env.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, "the settings loaded"
    return result.stderr
