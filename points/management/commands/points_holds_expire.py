from __future__ import annotations

from django.core.management.base import CommandParser
from django.db.models import Count, Sum
from django.utils import timezone

from points import services
from points.enums import HoldStatus
from points.models import Hold
from pointsmall.kernel.commands import EXIT_OK, bounded_int
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = (
        "End host checkout holds (积分抵扣) whose time is over, giving their points back, in short batches. "
        "Safe to re-run (beat: every minute)."
    )
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=bounded_int(1, 10000), default=500, help="Holds ended per batch (1–10000)."
        )

    def run(self, *, batch_size: int, **options) -> int:
        if self.dry_run:
            due = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=timezone.now()).aggregate(
                holds=Count("pk"), points=Sum("amount")
            )
            self.summary(f"Would end {due['holds']} expired holds, giving back {due['points'] or 0} points.")
            return EXIT_OK
        with self.progress("Ending expired holds"):
            ended = services.points_holds_expire(batch_size=batch_size)
        self.summary(f"Ended {ended} expired holds.")
        return EXIT_OK
