from __future__ import annotations

from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand
from tasks import services


class Command(BaseCommand):
    help = "Rebuild the leaderboard snapshot (week, month, all time) from the ledger. Safe to re-run."
    writes = True
    rollback_dry_run = True

    def run(self, **options) -> int:
        with self.progress("Ranking members"):
            report = services.leaderboard_refresh()
        boards = ", ".join(f"{board}: {count}" for board, count in report.ranked.items())
        self.summary(f"Leaderboard {'would be ' if self.dry_run else ''}refreshed ({boards} members ranked).")
        return EXIT_OK
