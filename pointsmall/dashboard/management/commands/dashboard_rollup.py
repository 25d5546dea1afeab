from django.core.management.base import BaseCommand, CommandError

from pointsmall.dashboard.services import dashboard_rollup


class Command(BaseCommand):
    help = "Recompute the dashboard's daily figures of the last N business days (default 2: today and yesterday)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=2, help="How many business days, ending today.")

    def handle(self, *args, **options) -> None:
        if options["days"] < 1 or options["days"] > 3660:
            raise CommandError("--days must be between 1 and 3660.")
        written = dashboard_rollup(days=options["days"])
        self.stdout.write(self.style.SUCCESS(f"Rolled up {options['days']} days: {written} figures."))
