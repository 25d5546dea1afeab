from datetime import date

from django.core.management.base import BaseCommand, CommandError

from pointsmall.kernel.errors import DomainError
from tasks import services


def _month(value: str) -> date:
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise CommandError(f"--month must be YYYY-MM, not {value!r}") from None


class Command(BaseCommand):
    help = "Pay the monthly leaderboard prizes (last business month unless --month). Pays each member once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", type=_month, help="YYYY-MM: a month that is over (default: last month)")

    def handle(self, *args, month: date | None = None, **options) -> None:
        try:
            report = services.leaderboard_pay_monthly(month=month)
        except DomainError as error:
            raise CommandError(error.message) from None
        if not report.enabled:
            self.stdout.write(f"Monthly prizes are switched off: nothing paid for {report.month:%Y-%m}.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.month:%Y-%m}: paid {report.points} points to {report.paid} members "
                f"({report.already_paid} paid before)."
            )
        )
