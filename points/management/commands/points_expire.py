from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from points import exceptions, services


class Command(BaseCommand):
    help = "Expire every lot due at or before now (or --as-of), in short batches. Safe to re-run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what would expire.")
        parser.add_argument("--as-of", help="ISO date-time (default: now); may not be in the future.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Accounts locked per batch.")

    def handle(self, *args, dry_run: bool, as_of: str | None, batch_size: int, **options) -> None:
        moment = self._parse(as_of) if as_of else None
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")

        def progress(report: services.BatchReport) -> None:
            self.stdout.write(
                f"batch {report.batches}: {report.lots} lots, {report.points} points, {report.members} members so far"
            )

        try:
            report = services.points_expire(as_of=moment, batch_size=batch_size, dry_run=dry_run, progress=progress)
        except exceptions.FutureAsOfError as error:
            raise CommandError(str(error)) from None
        verb = "Would expire" if dry_run else "Expired"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {report.points} points in {report.lots} lots of {report.members} members.")
        )
        if report.skipped_members:
            self.stdout.write(
                f"Skipped {report.skipped_members} members busy at the time; "
                "their next spend or the next run expires them."
            )

    @staticmethod
    def _parse(value: str) -> datetime:
        moment = parse_datetime(value)
        if moment is None:
            raise CommandError(f"--as-of: not an ISO date-time: {value!r} (e.g. 2026-11-23T00:00:00+08:00)")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
