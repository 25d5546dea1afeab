from __future__ import annotations

from pointsmall.content import services
from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = "Send announcements whose window started to their audience's inboxes (job content.announcements_publish)."
    writes = True
    rollback_dry_run = True  # the messages' e-mails go out after commit, so a rolled-back run sends none

    def run(self, **options) -> int:
        with self.progress("Publishing announcements"):
            sent = services.announcements_publish()
        self.summary(f"{sent} inbox messages {'would be sent' if self.dry_run else 'sent'}.")
        return EXIT_OK
