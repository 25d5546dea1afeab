"""A per-process pause of one outside service after it failed (the broker, the flash gate's Redis).

A service that refuses connections costs a call a few milliseconds; one that accepts and never
answers costs it a socket timeout. Paid by every request, that turns an outage into a slow mall.
So after a failure this process leaves the service alone for a while and takes the fallback at
once (the sweep that owns the job, the database); the first failure of a pause is logged, the
rest are not. The wall clock, so a test can move past a pause with time_machine; a clock set back
ends it. ``pointsmall.cache`` keeps its own, richer state (sessions written during the outage).
"""

from __future__ import annotations

import threading
import time


class Pause:
    """One service's pause in this process, shared by its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since = 0.0
        self.until = 0.0
        self.reason = ""

    def active(self) -> bool:
        """Whether the service is to be left alone now."""
        now = time.time()
        return self.since <= now < self.until

    def start(self, *, seconds: float, reason: str) -> bool:
        """Pause for ``seconds`` from now (``reason``: the error, one line). Returns True when this
        began a pause (log it), False when one was already running (it is extended, not logged)."""
        now = time.time()
        with self._lock:
            already = self.since <= now < self.until
            self.since, self.until, self.reason = now, now + seconds, reason
        return not already

    def reset(self) -> None:
        """End any pause (tests; a process that knows the service is back)."""
        with self._lock:
            self.since = self.until = 0.0
            self.reason = ""
