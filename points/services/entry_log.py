"""One log line per ledger entry written, once its transaction commits (docs/decisions/0041).

Every entry insert goes through ``_core.write_entry`` or one of the two expiry batch paths;
each calls ``entries_logged``. The line names ids, kind, points and the reference — never a
member's e-mail, phone or name. A rolled-back entry is not logged: it was never written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import NamedTuple

from pointsmall.kernel.transactions import after_commit

logger = logging.getLogger("points.ledger")


class EntryLine(NamedTuple):
    entry_id: int
    account_id: int
    kind: str
    points: int
    pending_points: int = 0
    reference: str = ""


def entries_logged(lines: Iterable[EntryLine]) -> None:
    """Log each entry at INFO (logger ``points.ledger``) after the current transaction commits."""
    lines = list(lines)
    if lines:
        after_commit(lambda: _log(lines))


def _log(lines: list[EntryLine]) -> None:
    for line in lines:
        logger.info(
            "ledger entry %s written: account %s %s %+d points (pending %+d) reference %r",
            line.entry_id,
            line.account_id,
            line.kind,
            line.points,
            line.pending_points,
            line.reference,
            extra=line._asdict(),
        )
