from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from pointsmall.integration import webhooks
from pointsmall.integration.enums import WebhookDeliveryStatus
from pointsmall.integration.models import WebhookDelivery
from pointsmall.kernel.commands import OutboxRetryCommand


class Command(OutboxRetryCommand):
    help = (
        "Send the webhook deliveries that are due (lost tasks, retries). Safe to re-run. "
        "With --failed-since, first queue again the deliveries that failed for good (after an outage)."
    )
    noun = "webhook deliveries"

    def count_failed(self, since: datetime) -> int:
        return WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.FAILED, created_at__gte=since).count()

    def count_due(self) -> int:
        return WebhookDelivery.objects.filter(
            status__in=[WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING],
            next_attempt_at__lte=timezone.now(),
        ).count()

    def resend(self, since: datetime) -> int:
        return webhooks.webhooks_resend(failed_since=since)

    def send_due(self, limit: int) -> dict[str, int]:
        return webhooks.webhooks_send_due(limit=limit)
