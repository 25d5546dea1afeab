"""Celery jobs of the host integration (beat: settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from typing import Any

from pointsmall.integration import services, webhooks
from pointsmall.kernel import outbox
from pointsmall.kernel.jobs import RETRY_BACKOFF, job, retry_countdown


@job(
    name="integration.nonces_purge",
    idempotent="deletes by age: a second run deletes nothing more",
    soft_time_limit=60,
    time_limit=90,
)
def nonces_purge() -> int:
    """Delete used nonces past the signature window. Idempotent."""
    return services.nonces_purge()


# Webhooks (pointsmall/integration/webhooks.py). ``integration.webhook_send`` is enqueued after
# commit for each delivery; ``integration.webhooks_retry`` (beat; ``manage.py
# integration_webhooks_retry``) sends what is due and was not. Both are safe to run twice and on
# several workers: each delivery is claimed first, with a lease longer than a send's hard limit.
# A send whose outcome cannot be written is retried with the outcome in its arguments
# (``unrecorded``): the retry records it and posts nothing (pointsmall/kernel/outbox.py).


@job(
    name="integration.webhook_send",
    idempotent="claims the delivery first (SKIP LOCKED, a lease longer than the hard limit); a sent or "
    "claimed delivery is left alone",
    soft_time_limit=webhooks.SEND_SOFT_TIME_LIMIT,
    time_limit=webhooks.SEND_TIME_LIMIT,
    bind=True,
)
def webhook_send(self: Any, delivery_id: int, unrecorded: dict | None = None) -> str:
    try:
        return str(webhooks.webhook_send(delivery_id=delivery_id, unrecorded=unrecorded))
    except outbox.OutcomeNotRecorded as error:
        # Delivered, not recorded: the retry records this outcome instead of posting again.
        raise self.retry(
            kwargs={"delivery_id": delivery_id, "unrecorded": error.marker},
            countdown=retry_countdown(self.request.retries, base=RETRY_BACKOFF),
            exc=error,
        ) from error


@job(
    name="integration.webhooks_retry",
    idempotent="sends only deliveries that are due, each claimed first as webhook_send does",
    # The sweep starts no send after SWEEP_BUDGET; the last one started has a send's limits.
    soft_time_limit=webhooks.SWEEP_BUDGET + webhooks.SEND_SOFT_TIME_LIMIT,
    time_limit=webhooks.SWEEP_BUDGET + webhooks.SEND_TIME_LIMIT,
)
def webhooks_retry() -> dict:
    return {str(status): count for status, count in webhooks.webhooks_send_due().items()}
