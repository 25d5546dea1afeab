from __future__ import annotations

from django.core.management.base import CommandParser

from points import services
from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand

SHOWN = 20  # changes listed at the default verbosity; -v 2 lists every one


class Command(BaseCommand):
    help = (
        "Monthly tier review: move every member to the tier they earned (down at most the policy's steps). "
        f"Lists the first {SHOWN} changes; -v 2 lists all."
    )
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        """No options of its own: --dry-run lists the changes without making them."""

    def run(self, **options) -> int:
        with self.progress("Reviewing tiers"):
            report = services.points_tiers_recalculate(dry_run=self.dry_run)
        shown = report.changes if self.verbosity >= 2 else report.changes[:SHOWN]
        for user_id, old, new in shown:
            self.line(f"  member {user_id}: {old} → {new}")
        if len(shown) < len(report.changes):
            self.line(f"  … and {len(report.changes) - len(shown)} more (-v 2 lists them all)")
        verb = "Would change" if self.dry_run else "Changed"
        self.summary(
            f"{verb} {report.upgraded + report.downgraded} of {report.members} members "
            f"({report.upgraded} up, {report.downgraded} down)."
        )
        return EXIT_OK
