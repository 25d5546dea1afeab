"""The sandbox gateway's servers: after the member pays on the test gateway page they notify
the mall asynchronously, signed, and retry when the mall does not answer — like a real gateway.

Celery autodiscovers only ``<app>.jobs``; this module is imported by
``catalog.services.payments``, which registers the task wherever the services are loaded
(and CELERY_IMPORTS names it, so a worker knows it before anything else is loaded).
"""

from __future__ import annotations

import logging
import urllib.error

from celery import shared_task

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(name="catalog.sandbox_notify", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def sandbox_notify(self, reference: str) -> str:
    """Deliver the "paid" notification for ``reference``. Safe to run twice: the callback is idempotent.

    Returns "delivered", "refunded" (the mall had cancelled the order: the gateway gives the
    money back), "rejected" (the mall refused it), "unknown" (no such payment) or
    "undelivered" (in-process mode, the mall did not answer).
    """
    from catalog import payments

    try:
        delivery = payments.sandbox_gateway_deliver(reference=reference)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        if self.request.is_eager:
            logger.error("sandbox gateway: could not notify the mall of payment %s: %s", reference, error)
            return "undelivered"
        raise self.retry(exc=error, countdown=10 * 2**self.request.retries) from error
    if delivery is None:
        logger.error("sandbox gateway: no payment with reference %s", reference)
        return "unknown"
    if delivery.status == 200:
        return "delivered"
    if delivery.status == 409:
        # The mall cancelled the order (payment timeout) before our notification landed. A real
        # gateway would now refund the payer; the sandbox moved no money, so saying so is the refund.
        logger.error("sandbox gateway: payment %s arrived too late, refunding the payer: %s", reference, delivery.body)
        return "refunded"
    if delivery.status >= 500 and not self.request.is_eager:
        raise self.retry(countdown=10 * 2**self.request.retries)
    logger.error("sandbox gateway: the mall refused payment %s (%s): %s", reference, delivery.status, delivery.body)
    return "rejected"
