"""What every outbox shares (notification deliveries, webhooks): when a failed row is tried
again, and how the outcome of a send is recorded so that a lost write does not send it twice.

A send is an external side effect (an e-mail, an SMS, a webhook POST) followed by a separate
database write of its outcome. If that write fails (the connection terminated, a failover),
the row stays "sending" and the retry sweep sends it again once the claim's lease lapses.
:func:`outcome_record` makes the write robust: it closes a broken connection and tries again,
a few times over about ten seconds. When it still fails it raises :class:`OutcomeNotRecorded`,
which carries the outcome as JSON (:attr:`OutcomeNotRecorded.marker`); the job puts the
marker in its own retry's arguments, and the retry records the outcome instead of sending
(``outcome_from_marker``). Only a worker that dies between the send and the write (killed,
or the retry lost with the broker) still leaves the row to the lease: delivery is at least
once, and every message carries an id a receiver can drop a repeat by (the e-mail's
Message-ID, the webhook's event id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

# outcome_record tries the write this many times, waiting RECORD_WAIT, 2×, 4×… seconds between
# tries (0.5 + 1 + 2 + 4 = 7.5 s of waiting at most, plus the tries themselves).
RECORD_TRIES = 5
RECORD_WAIT = 0.5
_DATETIME = "__datetime__"


def backoff(attempt: int, *, cap: timedelta) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, …): 1, 2, 4, 8 … minutes, at most
    ``cap``. The exponent is bounded, so any attempt count is safe."""
    return min(timedelta(minutes=2 ** min(max(attempt, 1) - 1, 20)), cap)


class OutcomeNotRecorded(Exception):
    """The outcome of a send could not be written. ``marker`` is JSON-ready
    (``{"attempt": int, "fields": {...}}``, datetimes as ``{"__datetime__": iso}``): give it back
    to the send function (``unrecorded=marker``) to record the outcome without sending again."""

    def __init__(self, *, label: str, attempt: int, fields: Mapping[str, Any], error: BaseException) -> None:
        super().__init__(f"{label}: outcome of attempt {attempt} not recorded: {type(error).__name__}")
        self.marker = outcome_marker(attempt=attempt, fields=fields)


def outcome_marker(*, attempt: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome ``fields`` of claim ``attempt`` as JSON-ready data (a job's arguments)."""
    encoded = {
        name: {_DATETIME: value.isoformat()} if isinstance(value, datetime) else value for name, value in fields.items()
    }
    return {"attempt": int(attempt), "fields": encoded}


def outcome_from_marker(marker: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """``(attempt, fields)`` of a marker made by :func:`outcome_marker`. Raises KeyError, TypeError
    or ValueError on a malformed one."""
    fields = {
        name: datetime.fromisoformat(value[_DATETIME]) if isinstance(value, dict) and _DATETIME in value else value
        for name, value in dict(marker["fields"]).items()
    }
    return int(marker["attempt"]), fields


def outcome_replay(marker: Mapping[str, Any], write: Callable[[int, dict[str, Any]], object], *, label: str) -> None:
    """Record the outcome a send could not write (``marker`` from OutcomeNotRecorded, given back
    by the job's retry as ``unrecorded=``) without sending again: ``write(attempt, fields)`` is the
    send's own idempotent UPDATE of its claimed row. Raises what :func:`outcome_from_marker` and
    :func:`outcome_record` raise."""
    attempt, fields = outcome_from_marker(marker)
    outcome_record(lambda values: write(attempt, values), label=label, attempt=attempt, fields=fields)


def outcome_record(
    write: Callable[[dict[str, Any]], object],
    *,
    label: str,
    attempt: int,
    fields: Mapping[str, Any],
    tries: int | None = None,
    wait: float | None = None,
) -> None:
    """Run ``write(fields)`` (the UPDATE that records a send's outcome on the claimed row),
    trying again after a database error that passes (OperationalError, InterfaceError: the
    connection terminated or refused for now): the broken connection is closed, so the next
    try opens a new one, then it waits ``wait``, 2 × ``wait``… seconds, ``tries`` tries in all
    (by default RECORD_WAIT and RECORD_TRIES).

    ``write`` must be idempotent (an UPDATE guarded by the claim is). Runs outside the caller's
    transaction: inside one, a lost connection cannot be replaced and the error is not caught.
    Raises OutcomeNotRecorded (from the last error) when every try failed; ``label`` names the
    row in the log and the error (``"delivery 12"``).
    """
    values = dict(fields)
    tries = RECORD_TRIES if tries is None else tries
    wait = RECORD_WAIT if wait is None else wait
    for number in range(1, tries + 1):
        try:
            write(values)
            return
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block:
                raise
            logger.warning(
                "%s: recording the outcome of attempt %s failed (try %s of %s): %s",
                label,
                attempt,
                number,
                tries,
                type(error).__name__,
            )
            connection.close()
            if number == tries:
                raise OutcomeNotRecorded(label=label, attempt=attempt, fields=values, error=error) from error
            time.sleep(wait * 2 ** (number - 1))
