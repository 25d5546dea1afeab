"""Running calls at the same time, for the tests that need real concurrency (Postgres, threads)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def run_together(calls: list[Callable[[], object]], timeout: float = 60) -> list[object]:
    """Run each call in its own thread, all released at once; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            # Connect before the barrier so the calls race for locks, not for connections.
            connection.ensure_connection()
            barrier.wait(timeout=timeout)
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: deadlock or lost lock"
    return results


def run_parallel(calls: list[Callable[[], object]], workers: int) -> list[object]:
    """Run the calls on up to ``workers`` threads released together (a bounded pool, for more calls
    than the server has connections to spare); each call's result or exception, in order."""
    workers = max(1, min(workers, len(calls)))
    connected = threading.Barrier(workers)

    def connect_then_wait() -> None:
        # Connect before the barrier, so the calls race for locks rather than for connections.
        connection.ensure_connection()
        connected.wait(timeout=60)

    def outcome(call: Callable[[], object]) -> object:
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=workers, initializer=connect_then_wait) as pool:
        results = list(pool.map(outcome, calls))
        # One close per worker thread: each waits until every worker has taken one.
        closing = threading.Barrier(workers)

        def close(_index: int) -> None:
            closing.wait(timeout=60)
            connection.close()

        list(pool.map(close, range(workers)))
    return results


def outcome_counts(results: list[object]) -> Counter:
    """How many results of each kind: {"Receipt": 3, "PinLockedError": 7}, by class name."""
    return Counter(type(r).__name__ for r in results)
