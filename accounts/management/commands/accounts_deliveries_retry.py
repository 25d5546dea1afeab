from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from accounts.enums import DeliveryStatus
from accounts.models import Delivery
from accounts.services import delivery
from pointsmall.kernel.commands import OutboxRetryCommand


class Command(OutboxRetryCommand):
    help = (
        "Send the notification e-mails and SMS that are due (lost tasks, retries). Safe to re-run. "
        "With --failed-since, first queue again the deliveries that failed for good (after an outage)."
    )
    noun = "deliveries"

    def count_failed(self, since: datetime) -> int:
        return Delivery.objects.filter(status=DeliveryStatus.FAILED, created_at__gte=since).count()

    def count_due(self) -> int:
        return Delivery.objects.filter(
            Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]), next_attempt_at__lte=timezone.now()
        ).count()

    def resend(self, since: datetime) -> int:
        return delivery.deliveries_resend(failed_since=since)

    def send_due(self, limit: int) -> dict[str, int]:
        return delivery.deliveries_send_due(limit=limit)
