"""A small flash-sale crowd against a real gunicorn (issue #18): exact orders, everyone answered, no resets.

The in-process tests (test_flash_crowd.py) prove each refusal's rules; this one proves the server
around them: gunicorn with the project's config in the production profile (DJANGO_DEBUG=0,
collected static files), Postgres and Redis, tens of signed-in buyers POSTing the redeem form at
once, then again while one worker is stopped gracefully mid-burst (SIGTERM, what ``max_requests``
does). No timings are asserted: bench/flash_crowd.py measures those.
"""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest
from django.conf import settings

from bench import http_load
from bench.flash_crowd import RawBrowser, buyer, confirmations, workers_of
from catalog.enums import ProductKind
from catalog.models import Order
from points import services as points_services
from tests.catalog.conftest import PIN
from tests.processes import process_env

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

BUYERS = 30
STOCK = 8


async def _crowd(server, sessions, product_id: int, tokens: list[str], *, stop_a_worker: bool):
    browser = RawBrowser(server.port, timeout=60.0)

    async def stop_one() -> None:
        await asyncio.sleep(0.2)
        os.kill(workers_of(server.process.pid)[0], 15)  # SIGTERM to a worker of the server this test started

    jobs = [buyer(browser, s, product_id, t) for s, t in zip(sessions, tokens, strict=True)]
    results = await asyncio.gather(*jobs, *([stop_one()] if stop_a_worker else []))
    return [r for r in results if r is not None]


def test_a_crowd_gets_exactly_the_stock_and_every_buyer_an_answer_through_gunicorn(
    transactional_db, make_buyer, make_product, monkeypatch
):
    monkeypatch.setattr("bench.flash_crowd.PIN", PIN)  # the buyers' form carries the tests' PIN
    members = [http_load.Member(make_buyer(500).pk, "", "") for _ in range(BUYERS)]
    env = http_load.server_env(
        process_env(REDIS_URL=settings.REDIS_URL, GUNICORN_WORKERS="2", GUNICORN_THREADS="2"),
        secret_key=settings.SECRET_KEY,
    )
    static_root = http_load.collect_static(env)
    try:
        with http_load.running_server(env) as server:
            sessions = http_load.sessions_mint(server.base, members)
            for stop_a_worker in (False, True):
                product = make_product(flash_sale=True, stock=STOCK, kind=ProductKind.PRIVILEGE, points_price=100)
                outcomes = asyncio.run(
                    _crowd(
                        server, sessions, product.pk, confirmations(members, product.pk), stop_a_worker=stop_a_worker
                    )
                )
                kinds = [o.kind for o in outcomes]
                # Every buyer heard a true answer: an order or "sold out"; no reset, no timeout, no error page.
                assert len(kinds) == BUYERS and set(kinds) <= {"order", "sold_out"}, kinds
                assert kinds.count("order") == STOCK
                assert Order.objects.filter(product_id=product.pk).count() == STOCK
                assert (
                    len(set(Order.objects.filter(product_id=product.pk).values_list("member_id", flat=True))) == STOCK
                )
                product.refresh_from_db()
                assert product.stock == 0
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    assert points_services.points_verify().ok
