from __future__ import annotations

from datetime import datetime

from django.core.management.base import CommandParser
from django.db.models import Count, Sum
from django.utils import timezone

from points import services
from points.enums import LotStatus
from points.models import Lot
from pointsmall.kernel.commands import EXIT_OK, bounded_int, strict_datetime
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = "Make pending points whose returns window is over spendable, in short batches. Safe to re-run."
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", type=strict_datetime, help="ISO date-time or day (default: now); may not be in the future."
        )
        parser.add_argument(
            "--batch-size", type=bounded_int(1, 10000), default=500, help="Accounts locked per batch (1–10000)."
        )

    def run(self, *, as_of: datetime | None, batch_size: int, **options) -> int:
        if self.dry_run:
            # A read, no lock: the points whose window is over (a member's debt is paid from them).
            if as_of is not None and as_of > timezone.now():
                services.points_vest(now=as_of)  # raises FutureAsOfError before writing anything
            due = Lot.objects.filter(
                status=LotStatus.PENDING, available_at__lte=as_of or timezone.now(), remaining__gt=0
            ).aggregate(points=Sum("remaining"), members=Count("account_id", distinct=True))
            self.summary(f"Would vest {due['points'] or 0} points for {due['members']} members.")
            return EXIT_OK
        with self.progress("Vesting points"):
            report = services.points_vest(now=as_of, batch_size=batch_size)
        skipped = f"; {report.skipped_members} busy members left for the next run" if report.skipped_members else ""
        self.summary(f"Vested {report.points} points for {report.members} members{skipped}.")
        return EXIT_OK
