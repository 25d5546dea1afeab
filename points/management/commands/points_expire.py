from __future__ import annotations

from datetime import datetime

from django.core.management.base import CommandParser

from points import services
from pointsmall.kernel.commands import EXIT_OK, bounded_int, strict_datetime
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = "Expire every lot due at or before now (or --as-of), in short batches. Safe to re-run."
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", type=strict_datetime, help="ISO date-time or day (default: now); may not be in the future."
        )
        parser.add_argument(
            "--batch-size", type=bounded_int(1, 10000), default=1000, help="Accounts locked per batch (1–10000)."
        )

    def run(self, *, as_of: datetime | None, batch_size: int, **options) -> int:
        with self.progress("Expiring lots") as bar:
            report = services.points_expire(
                as_of=as_of,
                batch_size=batch_size,
                dry_run=self.dry_run,
                progress=lambda running: bar.update(running.members),
            )
        verb = "Would expire" if self.dry_run else "Expired"
        skipped = (
            f"; skipped {report.skipped_members} members busy at the time (their next spend or the next run "
            "expires them)"
            if report.skipped_members
            else ""
        )
        self.summary(f"{verb} {report.points} points in {report.lots} lots of {report.members} members{skipped}.")
        return EXIT_OK
