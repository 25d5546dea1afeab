"""Redis down: views and samples go to the database, the page still answers, the roll-up merges both."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from pointsmall.analytics import services, store
from pointsmall.analytics.exceptions import StoreUnavailableError
from pointsmall.analytics.models import PageDaily, ProductDaily, RawTiming, RawVisit
from pointsmall.kernel.clock import business_date
from tests.analytics.conftest import DEAD_REDIS
from tests.analytics.helpers import product_rolled, rolled
from tests.catalog.factories import make_product

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url(settings, live_redis):
    return settings.REDIS_URL


def kill_redis(settings) -> None:
    settings.REDIS_URL = DEAD_REDIS
    store.reset()


def revive_redis(settings, url: str) -> None:
    settings.REDIS_URL = url
    store.reset()


def test_with_redis_down_the_page_answers_and_the_view_is_written_to_the_database(settings, redis_url, browser):
    kill_redis(settings)

    assert browser.get("/").status_code == 200
    assert browser.get("/").status_code == 200  # Redis is not tried again for a while
    assert RawVisit.objects.filter(page_type="home").count() == 2


def test_the_rollup_merges_the_fallback_into_the_redis_counts(settings, redis_url, make_browser):
    product = make_product()
    first, second = make_browser(), make_browser()
    first.get("/")  # Redis
    first.get(f"/mall/products/{product.pk}/")
    kill_redis(settings)
    first.get("/")  # database: the same visitor
    second.get("/")  # database: a new visitor
    second.get(f"/mall/products/{product.pk}/")
    revive_redis(settings, redis_url)

    assert rolled("home") == (3, 2)
    assert rolled("home") == (3, 2)  # folding the visitors in twice changes nothing
    assert product_rolled(product.pk) == (2, 2, 0)


def test_beacon_samples_fall_back_too(settings, redis_url, browser):
    browser.get("/")
    kill_redis(settings)
    token = browser.cookies["csrftoken"].value

    assert (
        browser.post("/analytics/beacon", {"csrfmiddlewaretoken": token, "page_type": "home", "ms": "4000"}).status_code
        == 204
    )
    assert list(RawTiming.objects.values_list("page_type", "milliseconds")) == [("home", 4000)]

    revive_redis(settings, redis_url)
    services.traffic_rollup(day=business_date())
    row = PageDaily.objects.get(page_type="home")
    assert (row.views, row.timed_views, row.time_on_page_ms) == (1, 1, 4000)


def test_a_rollup_with_redis_down_refuses_and_writes_nothing(settings, redis_url, browser):
    browser.get("/")
    services.traffic_rollup(day=business_date())
    kill_redis(settings)

    with pytest.raises(StoreUnavailableError):
        services.traffic_rollup(day=business_date())
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("analytics_rollup")
    assert PageDaily.objects.get(page_type="home").views == 1


def test_fallback_rows_are_purged_once_their_day_left_the_live_window(no_redis, browser):
    browser.get("/")
    today = business_date()
    RawVisit.objects.update(day=today - timedelta(days=store.LIVE_DAYS))
    RawTiming.objects.create(day=today, page_type="home", milliseconds=3000)

    assert services.raw_purge(today=today) == 1
    assert RawVisit.objects.count() == 0
    assert RawTiming.objects.count() == 1


def test_the_database_alone_counts_exactly(no_redis, make_browser):
    product = make_product()
    clients = [make_browser() for _ in range(5)]
    for n, client in enumerate(clients):
        for _ in range(n + 1):
            client.get(f"/mall/products/{product.pk}/")

    assert rolled("product") == (15, 5)
    assert product_rolled(product.pk) == (15, 5, 0)
    assert ProductDaily.objects.count() == 1
