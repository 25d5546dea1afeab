"""Celery entry points of the catalog: ids in, one service call.

Each task is named for the service it runs (``catalog.orders_cancel_unpaid`` runs
``catalog.services.orders_cancel_unpaid``): one name per job.
"""

from __future__ import annotations

import logging

from pointsmall.kernel.jobs import job

logger = logging.getLogger(__name__)


@job(
    name="catalog.low_stock_notify",
    idempotent="one inbox message per operator, product and day (dedupe key low-stock:<product>:<day>)",
)
def low_stock_notify(product_id: int) -> int:
    from catalog import services

    return services.low_stock_notify(product_id=product_id)


@job(
    name="catalog.orders_cancel_unpaid",
    idempotent="by state: cancels only orders still unpaid past their deadline, each under its row lock",
)
def orders_cancel_unpaid() -> int:
    from catalog import services

    return services.orders_cancel_unpaid()
