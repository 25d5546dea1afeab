from __future__ import annotations

import os

from django.contrib.auth import get_user_model

from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand
from pointsmall.seeding import MEMBERS, seed_demo


class Command(BaseCommand):
    help = "Create demo data (admin, members, histories). Idempotent."
    writes = True

    def run(self, **options) -> int:
        if self.dry_run:
            # A read only: the seeding commits PIN checks on its own, so it cannot run rolled back.
            emails = [os.environ.get("DEMO_ADMIN_EMAIL", "admin@example.com"), *(email for email, *_ in MEMBERS)]
            existing = set(get_user_model().objects.filter(email__in=emails).values_list("email", flat=True))
            for email in emails:
                self.line(f"  {email}: {'exists' if email in existing else 'would be created'}")
            self.summary(f"Would create {len(emails) - len(existing)} of {len(emails)} demo users and their data.")
            return EXIT_OK
        with self.progress("Seeding demo data"):
            seed_demo(self.stdout)
        self.summary("Demo data ready.")
        return EXIT_OK
