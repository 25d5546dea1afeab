from __future__ import annotations

from datetime import date

from django.core.management.base import CommandParser

from pointsmall.analytics import jobs, services
from pointsmall.analytics.exceptions import StoreUnavailableError
from pointsmall.kernel.commands import EXIT_OK, bounded_int, strict_date, usage_error
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = (
        "Roll the live traffic counters (Redis and the database fallback) up into the daily tables: "
        "today and yesterday, or --day / --days. Safe to re-run: it writes absolute figures."
    )
    writes = True
    rollback_dry_run = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument("--day", type=strict_date, help="one business day, YYYY-MM-DD")
        parser.add_argument(
            "--days",
            type=bounded_int(1, 366),
            default=2,
            help="today and the N-1 days before it (default 2; at most as many days as the live counters keep)",
        )

    def run(self, *, day: date | None, days: int, **options) -> int:
        live = services.live_days()
        if day is not None:
            chosen = [day]
        else:
            if days > len(live):
                raise usage_error(f"--days must be between 1 and {len(live)}: older counters have expired.")
            chosen = live[:days]
        future = [d for d in chosen if d > live[0]]
        if future:
            raise usage_error(f"{', '.join(map(str, future))}: that business day has not begun; nothing to roll up.")
        stale = [d for d in chosen if d not in live]
        if stale:
            raise usage_error(
                f"{', '.join(map(str, stale))}: the live counters of that day have expired; "
                "its daily figures are kept as last rolled up."
            )
        try:
            with self.progress("Rolling up", total=len(chosen)):
                reports = jobs.rollup_days(chosen)
        except StoreUnavailableError as error:
            raise usage_error(f"Redis does not answer ({error}); nothing was written.") from error
        for report in reports:
            self.line(
                f"{report.day}: {report.views} views over {report.page_types} page types, "
                f"{report.products} products ({report.source})."
            )
        self.summary(f"{'Would roll' if self.dry_run else 'Rolled'} up {len(reports)} day(s).")
        return EXIT_OK
