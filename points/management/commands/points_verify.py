from __future__ import annotations

import time

from django.core.management.base import CommandParser

from points import services
from pointsmall.kernel.commands import EXIT_OK, EXIT_REJECTED, bounded_int
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = "Check every ledger invariant over the whole database. Exit code 1 on any violation, 0 when consistent."

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=bounded_int(1, 10000), default=50, help="Violations to print per check (1–10000)."
        )

    def run(self, *, limit: int, **options) -> int:
        started = time.monotonic()
        with self.progress("Checking the ledger"):
            report = services.points_verify(limit_per_check=limit)
        elapsed = time.monotonic() - started
        counts = ", ".join(f"{table.removeprefix('points_')}: {n}" for table, n in report.counts.items())
        self.line(f"Checked {report.checks} invariants over {counts} in {elapsed:.2f} s.")
        for name, description, _sql in services.CHECKS:
            found = [v for v in report.violations if v.check == name]
            self.line(f"  {'ok  ' if not found else 'FAIL'} {description}")
            for violation in found:
                self.line(f"       #{violation.row_id}: {violation.detail}")
        if not report.ok:
            self.summary(f"{len(report.violations)} violation(s) found.", ok=False)
            return EXIT_REJECTED
        self.summary("Ledger is consistent.")
        return EXIT_OK
