"""Celery entry points of the catalog: ids in, one service call.

Each task is named for the service it runs (``catalog.orders_cancel_unpaid`` runs
``catalog.services.orders_cancel_unpaid``): one name per job.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="catalog.low_stock_notify", acks_late=True)
def low_stock_notify(product_id: int) -> int:
    from catalog import services

    return services.low_stock_notify(product_id=product_id)


@shared_task(name="catalog.orders_cancel_unpaid", acks_late=True)
def orders_cancel_unpaid() -> int:
    from catalog import services

    return services.orders_cancel_unpaid()
