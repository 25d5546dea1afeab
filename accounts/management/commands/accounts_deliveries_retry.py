from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.services import delivery


class Command(BaseCommand):
    help = "Send the notification e-mails and SMS that are due (lost tasks, retries). Safe to re-run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="At most this many deliveries.")

    def handle(self, *args, limit: int, **options) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        report = delivery.deliveries_send_due(limit=limit)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(report.items())) or "nothing due"
        self.stdout.write(self.style.SUCCESS(f"Deliveries: {summary}."))
