from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from catalog import flash_gate


class Command(BaseCommand):
    help = (
        "Set every flash-sale product's Redis gate counter to its database stock (after a Redis restart "
        "or restore) and drop counters of products that are no longer flash sales."
    )

    def handle(self, *args, **options) -> None:
        if flash_gate.client() is None:
            raise CommandError("REDIS_URL is not set: there is no flash-sale gate to reconcile.")
        changes = flash_gate.reconcile()
        for change in changes:
            before = "none" if change.before is None else change.before
            after = "removed" if change.after is None else change.after
            self.stdout.write(f"  product {change.product_id}: {before} → {after}")
        self.stdout.write(self.style.SUCCESS(f"{len(changes)} counter(s) changed."))
