from __future__ import annotations

from django.core.management.base import CommandParser

from pointsmall.dashboard.services import dashboard_rollup
from pointsmall.kernel.commands import EXIT_OK, bounded_int
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = "Recompute the dashboard's daily figures of the last N business days (default 2: today and yesterday)."
    writes = True
    rollback_dry_run = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=bounded_int(1, 3660), default=2, help="How many business days, ending today (1–3660)."
        )

    def run(self, *, days: int, **options) -> int:
        with self.progress("Rolling up"):
            written = dashboard_rollup(days=days)
        self.summary(f"{'Would roll' if self.dry_run else 'Rolled'} up {days} days: {written} figures.")
        return EXIT_OK
