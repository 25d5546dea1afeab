from __future__ import annotations

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pointsmall.integration import webhooks


class Command(BaseCommand):
    help = (
        "Send the webhook deliveries that are due (lost tasks, retries). Safe to re-run. "
        "With --failed-since, first queue again the deliveries that failed for good (after an outage)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="At most this many deliveries.")
        parser.add_argument(
            "--failed-since",
            metavar="YYYY-MM-DD",
            help="Queue again every failed delivery created on or after this day (the mall's time zone), "
            "with a fresh attempt budget, then send what is due. Delivered events are never sent again.",
        )

    def handle(self, *args, limit: int, failed_since: str | None, **options) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        if failed_since is not None:
            try:
                day = date.fromisoformat(failed_since)
            except ValueError:
                raise CommandError("--failed-since takes a day as YYYY-MM-DD, e.g. 2026-11-30.") from None
            since = timezone.make_aware(datetime.combine(day, time.min))
            queued = webhooks.webhooks_resend(failed_since=since)
            self.stdout.write(f"Queued again: {queued} failed webhook deliveries since {day.isoformat()}.")
        report = webhooks.webhooks_send_due(limit=limit)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(report.items())) or "nothing due"
        self.stdout.write(self.style.SUCCESS(f"Webhook deliveries: {summary}."))
