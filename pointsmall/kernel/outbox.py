"""What every outbox shares (notification deliveries, webhooks): when a failed row is tried again."""

from __future__ import annotations

from datetime import timedelta


def backoff(attempt: int, *, cap: timedelta) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, …): 1, 2, 4, 8 … minutes, at most
    ``cap``. The exponent is bounded, so any attempt count is safe."""
    return min(timedelta(minutes=2 ** min(max(attempt, 1) - 1, 20)), cap)
