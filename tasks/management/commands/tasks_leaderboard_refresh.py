from django.core.management.base import BaseCommand

from tasks import services


class Command(BaseCommand):
    help = "Rebuild the leaderboard snapshot (week, month, all time) from the ledger. Safe to re-run."

    def handle(self, *args, **options) -> None:
        report = services.leaderboard_refresh()
        boards = ", ".join(f"{board}: {count}" for board, count in report.ranked.items())
        self.stdout.write(self.style.SUCCESS(f"Leaderboard refreshed ({boards} members ranked)."))
