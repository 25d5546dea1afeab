from __future__ import annotations

from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand
from pointsmall.seeding import seed_demo


class Command(BaseCommand):
    help = "Create demo data (admin, members, histories). Idempotent."
    writes = True
    rollback_dry_run = True

    def run(self, **options) -> int:
        with self.progress("Seeding demo data"):
            seed_demo(self.stdout)
        self.summary("Demo data checked; nothing kept." if self.dry_run else "Demo data ready.")
        return EXIT_OK
