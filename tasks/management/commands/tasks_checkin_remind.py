from __future__ import annotations

from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand
from tasks import services


class Command(BaseCommand):
    help = "Send the daily check-in reminders due this business hour. Safe to re-run."
    writes = True
    rollback_dry_run = True

    def run(self, **options) -> int:
        with self.progress("Sending check-in reminders"):
            sent = services.checkin_reminders_send()
        self.summary(f"{'Would send' if self.dry_run else 'Sent'} {sent} check-in reminders.")
        return EXIT_OK
