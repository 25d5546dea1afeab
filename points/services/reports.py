"""What the set-based ledger jobs (expiry sweep, vesting) report back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchReport:
    """Totals of a batch job: ``lots`` touched, ``points`` moved, ``members`` changed, ``batches``
    committed and ``skipped_members`` (busy at the time: their own next operation settles them)."""

    lots: int = 0
    points: int = 0
    members: int = 0
    batches: int = 0
    skipped_members: int = 0

    def plus(self, lots: int, points: int, members: int, skipped: int) -> BatchReport:
        return BatchReport(
            self.lots + lots,
            self.points + points,
            self.members + members,
            self.batches + 1,
            self.skipped_members + skipped,
        )
