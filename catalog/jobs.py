"""Celery entry points of the catalog: ids in, one service call."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="catalog.low_stock_alert", acks_late=True)
def low_stock_alert(product_id: int) -> int:
    from catalog.services import low_stock_notify

    return low_stock_notify(product_id=product_id)


@shared_task(name="catalog.cancel_unpaid", acks_late=True)
def cancel_unpaid() -> int:
    from catalog.services import orders_cancel_unpaid

    return orders_cancel_unpaid()
