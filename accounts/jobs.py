"""Celery entry points of accounts: notification deliveries (e-mail, SMS).

``accounts.delivery_send`` is enqueued after commit for each delivery; ``accounts.deliveries_retry``
(beat, every minute; ``manage.py accounts_deliveries_retry``) sends what is due and was not.
Both are safe to run twice and on several workers: each delivery is claimed before it is sent.

Time limits (docs/decisions/0029): a send is claimed for ``CLAIM_LEASE`` (10 minutes); the
task's hard limit is well inside it, so a send hung on a mail server or an SMS provider is
killed before the claim lapses and the sweep sends the message a second time. The soft limit
raises inside the send, which counts as a failed attempt (retried later).

A send whose outcome cannot be written (the database gone for longer than
``outbox.outcome_record`` tries) is retried with the outcome in its arguments (``unrecorded``):
the retry records it and sends nothing (docs/decisions/0029, "Sent, not recorded").
"""

from __future__ import annotations

from typing import Any

from accounts.services import delivery
from pointsmall.kernel import outbox
from pointsmall.kernel.jobs import RETRY_BACKOFF, job, retry_countdown


@job(
    name="accounts.delivery_send",
    idempotent="claims the delivery first (SKIP LOCKED, status sending with a lease); a sent, "
    "skipped or claimed delivery is left alone",
    soft_time_limit=delivery.SEND_SOFT_TIME_LIMIT,
    time_limit=delivery.SEND_TIME_LIMIT,
    bind=True,
)
def delivery_send(self: Any, delivery_id: int, unrecorded: dict | None = None) -> str:
    try:
        return str(delivery.delivery_send(delivery_id=delivery_id, unrecorded=unrecorded))
    except outbox.OutcomeNotRecorded as error:
        # Sent, not recorded: the retry records this outcome instead of sending again.
        raise self.retry(
            kwargs={"delivery_id": delivery_id, "unrecorded": error.marker},
            countdown=retry_countdown(self.request.retries, base=RETRY_BACKOFF),
            exc=error,
        ) from error


@job(
    name="accounts.deliveries_retry",
    idempotent="sends only deliveries that are due, each claimed first as delivery_send does",
    # The sweep starts no send after SWEEP_BUDGET; the last one started has a send's limits.
    soft_time_limit=delivery.SWEEP_BUDGET + delivery.SEND_SOFT_TIME_LIMIT,
    time_limit=delivery.SWEEP_BUDGET + delivery.SEND_TIME_LIMIT,
)
def deliveries_retry() -> dict:
    return {str(status): count for status, count in delivery.deliveries_send_due().items()}
