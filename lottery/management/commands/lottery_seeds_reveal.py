from __future__ import annotations

from lottery import services
from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = "Reveal the seeds of published lottery campaigns that have ended (commit–reveal). Safe to re-run."
    writes = True
    rollback_dry_run = True

    def run(self, **options) -> int:
        with self.progress("Revealing seeds"):
            revealed = services.lottery_seeds_reveal()
        self.summary(f"{'Would reveal' if self.dry_run else 'Revealed'} {revealed} campaign seeds.")
        return EXIT_OK
