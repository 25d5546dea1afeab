from __future__ import annotations

from datetime import date, datetime, time

from django.core.management.base import CommandParser
from django.db.models import Q
from django.utils import timezone

from accounts.enums import DeliveryStatus
from accounts.models import Delivery
from accounts.services import delivery
from pointsmall.kernel import clock
from pointsmall.kernel.commands import (
    EXIT_OK,
    bounded_int,
    parse_option,
    strict_date,
    usage_error,
)
from pointsmall.kernel.commands import (
    Command as BaseCommand,
)


class Command(BaseCommand):
    help = (
        "Send the notification e-mails and SMS that are due (lost tasks, retries). Safe to re-run. "
        "With --failed-since, first queue again the deliveries that failed for good (after an outage)."
    )
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=bounded_int(1, 10000), default=500, help="At most this many deliveries (1–10000)."
        )
        parser.add_argument(
            "--failed-since",
            metavar="YYYY-MM-DD",
            type=strict_date,
            help="Queue again every failed delivery created on or after this day (the mall's time zone, not in "
            "the future), with a fresh attempt budget, then send what is due. Sent deliveries are never sent again.",
        )

    def run(self, *, limit: int, failed_since: date | str | None, **options) -> int:
        since = None
        if isinstance(failed_since, str):  # call_command(failed_since="…") skips the argument's type
            failed_since = parse_option(strict_date, "--failed-since", failed_since)
        if failed_since is not None:
            if failed_since > clock.business_date():
                raise usage_error(f"--failed-since {failed_since.isoformat()} is in the future.")
            since = timezone.make_aware(datetime.combine(failed_since, time.min), clock.business_zone())
        if self.dry_run:
            # Counted, not sent: a rolled-back transaction cannot take back an e-mail.
            failed = (
                Delivery.objects.filter(status=DeliveryStatus.FAILED, created_at__gte=since).count() if since else 0
            )
            due = Delivery.objects.filter(
                Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]), next_attempt_at__lte=timezone.now()
            ).count()
            self.summary(f"Would queue again {failed} failed deliveries and send {min(due + failed, limit)} due.")
            return EXIT_OK
        queued = 0
        if since is not None:
            queued = delivery.deliveries_resend(failed_since=since)
            self.line(f"Queued again: {queued} failed deliveries since {failed_since.isoformat()}.")
        with self.progress("Sending deliveries"):
            report = delivery.deliveries_send_due(limit=limit)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(report.items())) or "nothing due"
        self.summary(f"Deliveries: {summary}.")
        return EXIT_OK
