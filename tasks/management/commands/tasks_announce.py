from __future__ import annotations

from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand
from tasks import services


class Command(BaseCommand):
    help = "Tell members about tasks that became available since the last run. Safe to re-run."
    writes = True
    rollback_dry_run = True

    def run(self, **options) -> int:
        with self.progress("Announcing tasks"):
            sent = services.tasks_announce()
        self.summary(f"{'Would send' if self.dry_run else 'Sent'} {sent} new-task messages.")
        return EXIT_OK
