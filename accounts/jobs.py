"""Celery entry points of accounts: notification deliveries (e-mail, SMS).

``accounts.delivery_send`` is enqueued after commit for each delivery; ``accounts.deliveries_retry``
(beat, every minute; ``manage.py accounts_deliveries_retry``) sends what is due and was not.
Both are safe to run twice and on several workers: each delivery is claimed before it is sent.
"""

from __future__ import annotations

from celery import shared_task

from accounts.services import delivery


@shared_task(name="accounts.delivery_send", acks_late=True)
def delivery_send(delivery_id: int) -> str:
    return str(delivery.delivery_send(delivery_id=delivery_id))


@shared_task(name="accounts.deliveries_retry", acks_late=True)
def deliveries_retry() -> dict:
    return {str(status): count for status, count in delivery.deliveries_send_due().items()}
