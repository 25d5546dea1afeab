"""Running calls at the same time, for the tests that need real concurrency (Postgres, threads)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

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


def outcome_counts(results: list[object]) -> Counter:
    """How many results of each kind: {"Receipt": 3, "PinLockedError": 7}, by class name."""
    return Counter(type(r).__name__ for r in results)
