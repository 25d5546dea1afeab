from __future__ import annotations

from catalog import flash_gate
from pointsmall.kernel.commands import EXIT_OK, usage_error
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = (
        "Set every flash-sale product's Redis gate counter to its database stock (after a Redis restart "
        "or restore) and drop counters of products that are no longer flash sales."
    )
    writes = True

    def run(self, **options) -> int:
        if flash_gate.client() is None:
            raise usage_error("REDIS_URL is not set: there is no flash-sale gate to reconcile.")
        with self.progress("Reconciling counters"):
            changes = flash_gate.reconcile(dry_run=self.dry_run)
        for change in changes:
            before = "none" if change.before is None else change.before
            after = "removed" if change.after is None else change.after
            self.line(f"  product {change.product_id}: {before} → {after}")
        self.summary(f"{len(changes)} counter(s) {'would change' if self.dry_run else 'changed'}.")
        return EXIT_OK
