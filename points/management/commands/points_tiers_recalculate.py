from __future__ import annotations

from django.core.management.base import BaseCommand

from points import services


class Command(BaseCommand):
    help = "Monthly tier review: move every member to the tier they earned (down at most the policy's steps)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only list the changes.")

    def handle(self, *args, dry_run: bool, **options) -> None:
        report = services.points_tiers_recalculate(dry_run=dry_run)
        for user_id, old, new in report.changes:
            self.stdout.write(f"  member {user_id}: {old} → {new}")
        verb = "Would change" if dry_run else "Changed"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {report.upgraded + report.downgraded} of {report.members} members "
                f"({report.upgraded} up, {report.downgraded} down)."
            )
        )
