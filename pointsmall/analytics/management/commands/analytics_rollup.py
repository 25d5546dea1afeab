from datetime import date

from django.core.management.base import BaseCommand, CommandError

from pointsmall.analytics import jobs, services
from pointsmall.analytics.exceptions import StoreUnavailableError


class Command(BaseCommand):
    help = (
        "Roll the live traffic counters (Redis and the database fallback) up into the daily tables: "
        "today and yesterday, or --day / --days. Safe to re-run: it writes absolute figures."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--day", type=date.fromisoformat, help="one business day, YYYY-MM-DD")
        parser.add_argument("--days", type=int, default=2, help="today and the N-1 days before it (default 2)")

    def handle(self, *args, **options) -> None:
        live = services.live_days()
        if options["day"] is not None:
            days = [options["day"]]
        else:
            if not 1 <= options["days"] <= len(live):
                raise CommandError(f"--days must be between 1 and {len(live)}: older counters have expired.")
            days = live[: options["days"]]
        future = [day for day in days if day > live[0]]
        if future:
            raise CommandError(f"{', '.join(map(str, future))}: that business day has not begun; nothing to roll up.")
        stale = [day for day in days if day not in live]
        if stale:
            raise CommandError(
                f"{', '.join(map(str, stale))}: the live counters of that day have expired; "
                "its daily figures are kept as last rolled up."
            )
        try:
            reports = jobs.rollup_days(days)
        except StoreUnavailableError as error:
            raise CommandError(f"Redis does not answer ({error}); nothing was written.") from error
        for report in reports:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{report.day}: {report.views} views over {report.page_types} page types, "
                    f"{report.products} products ({report.source})."
                )
            )
