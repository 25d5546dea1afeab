from __future__ import annotations

from datetime import date

from django.core.management.base import CommandParser

from pointsmall.kernel.commands import EXIT_OK, strict_month
from pointsmall.kernel.commands import Command as BaseCommand
from tasks import services


class Command(BaseCommand):
    help = "Pay the monthly leaderboard prizes (last business month unless --month). Pays each member once."
    writes = True
    rollback_dry_run = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument("--month", type=strict_month, help="YYYY-MM: a month that is over (default: last month)")

    def run(self, *, month: date | None = None, **options) -> int:
        with self.progress("Paying prizes"):
            report = services.leaderboard_pay_monthly(month=month)
        if not report.enabled:
            self.summary(f"Monthly prizes are switched off: nothing paid for {report.month:%Y-%m}.")
            return EXIT_OK
        self.summary(
            f"{report.month:%Y-%m}: {'would pay' if self.dry_run else 'paid'} {report.points} points to "
            f"{report.paid} members ({report.already_paid} paid before)."
        )
        return EXIT_OK
