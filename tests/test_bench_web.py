"""The HTTP benchmark's harness, smallest form (issue #15): bench/web.py against a real gunicorn.

A few members sign in like a browser, the rest get minted sessions; one run of every scenario with
a handful of requests. Asserts what the run must get right (orders counted, no oversell, one
check-in per member, prize stock exact, each purchase once), never a timing.
"""

from __future__ import annotations

import pytest

from bench import web
from bench.common import celery_broker_set

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def quiet_celery():
    """Jobs queued by the set-up in this process go nowhere (the server's go to the test's Redis)."""
    from bench.integration import quiet_celery
    from pointsmall.celery import app

    broker, eager = app.conf.broker_url, app.conf.task_always_eager
    quiet_celery()
    yield
    celery_broker_set(broker)
    app.conf.task_always_eager = eager


def _in_own_thread(run):
    """``run()`` in a thread of its own: the harness calls ``asyncio.run``, which refuses to start
    where an event loop already runs (Playwright's sync API leaves one in the main thread after the
    browser tests). The thread's database connection is closed when it ends."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def guarded():
        try:
            return run()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(guarded).result()


def test_the_smallest_http_run_places_every_order_once_and_oversells_nothing(transactional_db, quiet_celery):
    from catalog.models import Order, Product

    world, outcome = _in_own_thread(lambda: web.web_run(web.TINY, workers=2))

    report = "\n".join(outcome.lines) + "\n" + repr(outcome.checks)
    assert outcome.ok, report
    assert set(outcome.checks) >= {
        "P1 no oversell",
        "P1 spread stock",
        "P4 one check-in each",
        "P7 prize stock",
        "P10 exactly once",
    }, report
    # The hot product sold out exactly: more attempts than stock, as many orders as units.
    hot = Product.objects.get(pk=world.hot_product)
    assert web.TINY.attempts > web.TINY.hot_stock
    assert (hot.stock, hot.sold) == (0, web.TINY.hot_stock), report
    assert Order.objects.filter(product_id=world.hot_product).count() == web.TINY.hot_stock
    # Every spread attempt placed an order (each of those products has stock to spare).
    spread = Order.objects.filter(product_id__in=world.spread_products).count()
    assert spread == web.TINY.attempts, report
    # The members signed in over HTTP really did (the sign-in page, CSRF, password).
    assert outcome.lines[0].startswith(f"{web.REAL_LOGINS} members signed in over HTTP"), report
    assert {row.scenario for row in outcome.rows} >= {"P2 redemption (PIN included) vs floor", "P10 exactly once"}
