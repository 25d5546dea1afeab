"""Time on page from the beacon: accepted, refused (400, nothing written), dropped (bots, outliers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from pointsmall.analytics import services
from pointsmall.analytics.models import PageDaily, RawTiming
from pointsmall.kernel.clock import business_date
from tests.analytics.conftest import BROWSER

URL = "/analytics/beacon"


def timing(page_type: str = "home") -> tuple[int, int]:
    day = business_date()
    services.traffic_rollup(day=day)
    row = PageDaily.objects.filter(day=day, page_type=page_type).first()
    return (row.timed_views, row.time_on_page_ms) if row else (0, 0)


@pytest.fixture
def visitor(db) -> Client:
    """A browser that opened a member page (so it holds a pm_vid cookie) and checks CSRF like a real one."""
    client = Client(headers={"user-agent": BROWSER}, enforce_csrf_checks=True)
    client.get("/")
    return client


def send(client: Client, **data):
    token = client.cookies["csrftoken"].value
    return client.post(URL, {"csrfmiddlewaretoken": token, **data})


def test_a_sample_is_accepted_and_rolled_up(counters, visitor):
    assert send(visitor, page_type="home", ms="5000").status_code == 204
    assert send(visitor, page_type="home", ms="7000").status_code == 204

    assert timing() == (2, 12_000)


def test_the_page_carries_the_token_the_beacon_sends(counters, visitor):
    page = visitor.get("/").content.decode()
    assert visitor.cookies["csrftoken"].value
    assert '"X-CSRFToken": "' in page  # beacon.js reads it from the body's hx-headers


@pytest.mark.parametrize(
    "data",
    [
        {"page_type": "nowhere", "ms": "5000"},
        {"page_type": "home", "ms": "five"},
        {"page_type": "home", "ms": "-1"},
        {"page_type": "home"},
        {"ms": "5000"},
        {"page_type": "home", "ms": str(10**12)},
    ],
)
def test_a_malformed_sample_is_refused_and_nothing_written(counters, visitor, data):
    response = send(visitor, **data)

    assert response.status_code == 400
    assert timing() == (0, 0)
    assert RawTiming.objects.count() == 0


@pytest.mark.parametrize("ms", ["0", "999", str(30 * 60 * 1000 + 1), str(5 * 3600 * 1000)])
def test_outliers_are_dropped(counters, visitor, ms):
    assert send(visitor, page_type="home", ms=ms).status_code == 204

    assert timing() == (0, 0)


def test_the_bounds_themselves_are_kept(counters, visitor):
    send(visitor, page_type="catalog", ms="1000")
    send(visitor, page_type="catalog", ms=str(30 * 60 * 1000))

    assert timing("catalog") == (2, 1000 + 30 * 60 * 1000)


def test_a_bot_sample_is_dropped(counters, visitor):
    visitor.defaults["HTTP_USER_AGENT"] = "Mozilla/5.0 (compatible; bingbot/2.0)"

    assert send(visitor, page_type="home", ms="5000").status_code == 204
    assert timing() == (0, 0)


def test_a_sample_from_a_client_that_never_opened_a_page_is_dropped(counters, db):
    client = Client(headers={"user-agent": BROWSER})

    assert client.post(URL, {"page_type": "home", "ms": "5000"}).status_code == 204
    assert timing() == (0, 0)


def test_without_the_csrf_token_the_beacon_is_forbidden(counters, visitor):
    response = visitor.post(URL, {"page_type": "home", "ms": "5000"})

    assert response.status_code == 403
    assert timing() == (0, 0)


def test_only_post_is_allowed(counters, visitor):
    assert visitor.get(URL).status_code == 405


def test_one_visitor_cannot_skew_the_average(counters, visitor, settings):
    settings.ANALYTICS_BEACON_RATE = "2/m"
    # A fixed window resets on the minute: the clock stands still inside one.
    with time_machine.travel(datetime.now(UTC).replace(second=1, microsecond=0), tick=False):
        assert send(visitor, page_type="home", ms="5000").status_code == 204
        assert send(visitor, page_type="home", ms="5000").status_code == 204

        assert send(visitor, page_type="home", ms="900000").status_code == 429
        assert timing() == (2, 10_000)
