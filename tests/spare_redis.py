"""A Redis server of the test's own, on a free port, that the test can kill and start again.

Fault-injection tests point the cache, the flash-sale gate and the analytics counters at it
(the ``spare_redis`` fixture in tests/conftest.py) and stop it to simulate an outage, without touching the shared Redis
that the other tests and the Celery broker use.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import redis

START_TIMEOUT_SECONDS = 10.0
# The cache's pause after a failure in these tests (its OPTIONS retry_seconds).
RETRY_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SpareRedis:
    """``redis-server --port <free port>`` bound to 127.0.0.1, no persistence, in the foreground
    as a child process: ``stop()`` kills that process by its PID, ``start()`` starts a new one on
    the same port (empty, as a restarted Redis without persistence is)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)

    def start(self) -> None:
        assert self.process is None
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(  # noqa: S603 (the redis-server on PATH, fixed arguments)
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Polls until the server answers (it is a readiness wait, not a pause for time to pass).
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None

    def stop(self) -> None:
        """Kill the server (SIGKILL, by its own PID) and wait until it is gone."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT_SECONDS)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None
