from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from points import services


class Command(BaseCommand):
    help = "Check every ledger invariant over the whole database; exits non-zero on any violation."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=50, help="Violations to print per check.")

    def handle(self, *args, limit: int, **options) -> None:
        started = time.monotonic()
        report = services.points_verify(limit_per_check=limit)
        elapsed = time.monotonic() - started
        counts = ", ".join(f"{table.removeprefix('points_')}: {n}" for table, n in report.counts.items())
        self.stdout.write(f"Checked {report.checks} invariants over {counts} in {elapsed:.2f} s.")
        for name, description, _sql in services.CHECKS:
            found = [v for v in report.violations if v.check == name]
            mark = "ok  " if not found else "FAIL"
            self.stdout.write(f"  {mark} {description}")
            for violation in found:
                self.stdout.write(f"       #{violation.row_id}: {violation.detail}")
        if not report.ok:
            raise CommandError(f"{len(report.violations)} violation(s) found.")
        self.stdout.write(self.style.SUCCESS("Ledger is consistent."))
