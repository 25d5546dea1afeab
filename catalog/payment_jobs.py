"""Celery tasks of the cash part: the sandbox gateway's servers, and the mall asking for refunds.

The sandbox gateway's servers: after the member pays on the test gateway page they notify
the mall asynchronously, signed, and retry when the mall does not answer — like a real
gateway; after the mall asks for a refund they confirm it the same way.

The mall's side: ``cash_refund_request`` asks the order's gateway to refund one CashRefund
(dispatched on commit by the service that opened or retried it), and ``cash_refunds_retry_due``
(beat) retries failed gateway refunds on a back-off and asks again for those whose
confirmation never came.

Celery autodiscovers only ``<app>.jobs``; this module is imported by
``catalog.services.payments``, which registers the tasks wherever the services are loaded
(and CELERY_IMPORTS names it, so a worker knows it before anything else is loaded).
Each task is named for the function it runs (one name per job).
"""

from __future__ import annotations

import logging
import urllib.error

from pointsmall.kernel.jobs import job, retry_countdown

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError)


@job(
    name="catalog.sandbox_gateway_deliver",
    idempotent="the mall's callback confirms a payment once (locks the order; an order already paid "
    "with this reference is answered, not paid again)",
    bind=True,
    max_retries=MAX_RETRIES,
)
def sandbox_gateway_deliver(self, reference: str, callback_url: str = "") -> str:
    """Deliver the "paid" notification for ``reference`` to ``callback_url``. Safe to run twice.

    Returns "delivered", "late" (the mall had cancelled the order and owes the payer a
    refund, which it asks for through the refund API), "rejected" (the mall refused it),
    "unknown" (no such payment) or "undelivered" (in-process mode, the mall did not answer).
    """
    from catalog import payments

    try:
        delivery = payments.sandbox_gateway_deliver(reference=reference, callback_url=callback_url)
    except NETWORK_ERRORS as error:
        if self.request.is_eager:
            logger.error("sandbox gateway: could not notify the mall of payment %s: %s", reference, error)
            return "undelivered"
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries, base=10)) from error
    if delivery is None:
        logger.error("sandbox gateway: no payment with reference %s", reference)
        return "unknown"
    if delivery.status == 200:
        if delivery.body.startswith("late:"):
            logger.warning(
                "sandbox gateway: payment %s arrived after its order was cancelled: %s", reference, delivery.body
            )
            return "late"
        return "delivered"
    if delivery.status >= 500 and not self.request.is_eager:
        raise self.retry(countdown=retry_countdown(self.request.retries, base=10))
    logger.error("sandbox gateway: the mall refused payment %s (%s): %s", reference, delivery.status, delivery.body)
    return "rejected"


@job(
    name="catalog.sandbox_gateway_refund_deliver",
    idempotent="the mall's callback acknowledges a refund's confirmation once (by reference and attempt)",
    bind=True,
    max_retries=MAX_RETRIES,
)
def sandbox_gateway_refund_deliver(self, reference: str, attempt: int, callback_url: str = "") -> str:
    """Deliver the outcome of refund ``reference`` (``attempt``) to ``callback_url``. Safe to run twice.

    Returns "delivered", "rejected" (the mall refused it), "unknown" (no such refund) or
    "undelivered" (in-process mode, the mall did not answer).
    """
    from catalog import payments

    try:
        delivery = payments.sandbox_gateway_refund_deliver(
            reference=reference, attempt=attempt, callback_url=callback_url
        )
    except NETWORK_ERRORS as error:
        if self.request.is_eager:
            logger.error("sandbox gateway: could not confirm refund %s to the mall: %s", reference, error)
            return "undelivered"
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries, base=10)) from error
    if delivery is None:
        logger.error("sandbox gateway: no refund with reference %s", reference)
        return "unknown"
    if delivery.status == 200:
        return "delivered"
    if delivery.status >= 500 and not self.request.is_eager:
        raise self.retry(countdown=retry_countdown(self.request.retries, base=10))
    logger.error("sandbox gateway: the mall refused refund %s (%s): %s", reference, delivery.status, delivery.body)
    return "rejected"


@job(
    name="catalog.cash_refund_request",
    idempotent="the gateway takes one refund per reference and attempt; its confirmation is applied once",
    bind=True,
    max_retries=MAX_RETRIES,
)
def cash_refund_request(self, refund_id: int) -> str:
    """Ask the gateway to make refund ``refund_id``. Safe to run twice and on several workers.

    Returns what ``cash_refund_request`` reports; a gateway that cannot be reached is
    retried with back-off (in-process mode: "undelivered", and the beat sweep asks again).
    """
    from catalog import services

    try:
        return services.cash_refund_request(refund_id=refund_id)
    except NETWORK_ERRORS as error:
        if self.request.is_eager:
            logger.error("could not reach the gateway for cash refund %s: %s", refund_id, error)
            return "undelivered"
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries, base=30)) from error


@job(
    name="catalog.cash_refunds_retry_due",
    idempotent="by state: re-checks each refund under its row lock; asking the gateway again is idempotent",
)
def cash_refunds_retry_due() -> int:
    """Retry failed gateway refunds whose time has come; ask again where no confirmation came."""
    from catalog import services

    return services.cash_refunds_retry_due()
