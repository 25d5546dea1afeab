"""Who may send time-on-page samples, and how many: only visitor ids the mall issued (signed
pm_vid cookies), at most ANALYTICS_BEACON_RATE per visitor and ANALYTICS_BEACON_IP_RATE per
client address; with the rate-limit cache down the beacon still answers 204 and keeps nothing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import signing
from django.test import Client, override_settings

from pointsmall.analytics import services, store
from pointsmall.analytics.models import PageDaily, RawTiming
from pointsmall.analytics.visitors import COOKIE_NAME
from pointsmall.kernel.clock import business_date
from tests.analytics.conftest import BROWSER, DEAD_REDIS
from tests.factories import MemberFactory

URL = "/analytics/beacon"
SAMPLE = {"page_type": "home", "ms": "5000"}


def timing(page_type: str = "home") -> tuple[int, int]:
    day = business_date()
    services.traffic_rollup(day=day)
    row = PageDaily.objects.filter(day=day, page_type=page_type).first()
    return (row.timed_views, row.time_on_page_ms) if row else (0, 0)


@pytest.fixture(autouse=True)
def _one_rate_window():
    """The limits count in fixed windows ("4/m" resets on the minute): the clock stands still
    at the start of the current minute, so a test never straddles two windows."""
    with time_machine.travel(datetime.now(UTC).replace(second=1, microsecond=0), tick=False):
        yield


def visitor(remote_addr: str = "127.0.0.1", **headers: str) -> Client:
    """A browser that opened a member page, so it holds the pm_vid cookie the mall issued."""
    client = Client(headers={"user-agent": BROWSER, **headers}, REMOTE_ADDR=remote_addr)
    assert client.get("/").status_code == 200
    assert COOKIE_NAME in client.cookies
    return client


def test_made_up_visitor_ids_never_add_a_sample(counters, db):
    """A client that never had a counted view makes up a well-formed pm_vid for every beacon."""
    client = Client(headers={"user-agent": BROWSER})
    codes = []
    for _ in range(60):
        client.cookies[COOKIE_NAME] = secrets.token_hex(16)
        codes.append(client.post(URL, {"page_type": "home", "ms": "1799000"}).status_code)

    assert set(codes) == {204}
    assert timing() == (0, 0)


@pytest.mark.parametrize(
    "forge",
    [
        # A signature under another salt: signed by the mall, but not as a visitor id.
        lambda value: signing.get_cookie_signer(salt=COOKIE_NAME + "other").sign(value),
        # The mall's signature moved onto another value.
        lambda value: secrets.token_hex(16) + value[32:],
        # A signed value that is not a visitor id.
        lambda value: signing.get_cookie_signer(salt=COOKIE_NAME + "pointsmall.analytics.visitor").sign("x" * 32),
    ],
)
def test_a_tampered_cookie_is_nobody(counters, db, forge):
    issued = visitor().cookies[COOKIE_NAME].value
    client = Client(headers={"user-agent": BROWSER})
    client.cookies[COOKIE_NAME] = forge(issued)

    assert client.post(URL, SAMPLE).status_code == 204
    assert timing() == (0, 0)


def test_an_unsigned_cookie_from_before_is_replaced_on_the_next_counted_view(counters, db):
    client = Client(headers={"user-agent": BROWSER})
    client.cookies[COOKIE_NAME] = "a" * 32

    assert client.post(URL, SAMPLE).status_code == 204  # not issued: dropped
    response = client.get("/")
    assert response.cookies[COOKIE_NAME].value.startswith(("a" * 32) + ":") is False
    assert client.post(URL, SAMPLE).status_code == 204

    assert timing() == (1, 5000)


def test_one_visitor_is_limited_and_the_rest_are_not_written(counters, db, settings):
    settings.ANALYTICS_BEACON_RATE = "3/m"
    client = visitor()

    codes = [client.post(URL, SAMPLE).status_code for _ in range(6)]

    assert codes == [204] * 3 + [429] * 3
    assert timing() == (3, 15_000)


def test_minting_visitor_ids_does_not_get_one_client_past_its_address_limit(counters, db, settings):
    """Each beacon from a fresh, genuinely issued cookie (a page opened first): the per-visitor
    limit never bites, the per-address one does."""
    settings.ANALYTICS_BEACON_IP_RATE = "4/m"

    codes = [visitor().post(URL, SAMPLE).status_code for _ in range(7)]

    assert codes == [204] * 4 + [429] * 3
    assert timing() == (4, 20_000)
    assert visitor(remote_addr="198.51.100.7").post(URL, SAMPLE).status_code == 204  # another client


def test_made_up_ids_count_against_the_address_limit(counters, db, settings):
    settings.ANALYTICS_BEACON_IP_RATE = "5/m"
    client = Client(headers={"user-agent": BROWSER})
    for _ in range(5):
        client.cookies[COOKIE_NAME] = secrets.token_hex(16)
        assert client.post(URL, SAMPLE).status_code == 204

    assert visitor().post(URL, SAMPLE).status_code == 429  # the same address, a real visitor too
    assert timing() == (0, 0)


def test_one_ipv6_client_is_its_whole_64(counters, db, settings):
    settings.ANALYTICS_BEACON_IP_RATE = "2/m"
    codes = [visitor(remote_addr=f"2001:db8:0:1::{n:x}").post(URL, SAMPLE).status_code for n in range(1, 4)]

    assert codes == [204, 204, 429]
    assert visitor(remote_addr="2001:db8:0:2::1").post(URL, SAMPLE).status_code == 204


def test_behind_the_proxy_clients_are_told_apart_by_the_forwarded_address(counters, db, settings):
    settings.ANALYTICS_BEACON_IP_RATE = "1/m"
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    first = visitor(x_forwarded_for="203.0.113.1")
    second = visitor(x_forwarded_for="203.0.113.2")

    assert first.post(URL, SAMPLE).status_code == 204
    assert second.post(URL, SAMPLE).status_code == 204
    assert first.post(URL, SAMPLE).status_code == 429
    assert timing() == (2, 10_000)


@pytest.mark.redis
@pytest.mark.parametrize("member", [False, True])
def test_with_the_cache_down_the_beacon_answers_204_and_keeps_nothing(no_redis, db, member):
    """No rate limit can hold without the cache, so the sample is dropped (decision 0028)."""
    client = Client(headers={"user-agent": BROWSER})
    if member:
        client.force_login(MemberFactory())
    else:
        assert client.get("/").status_code == 200
    client.raise_request_exception = False
    dead = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}}
    with override_settings(CACHES=dead, SESSION_ENGINE="django.contrib.sessions.backends.db"):
        response = client.post(URL, SAMPLE)

    assert response.status_code == 204
    assert RawTiming.objects.count() == 0


@pytest.mark.redis
def test_with_redis_and_the_cache_down_pages_and_the_beacon_still_answer(settings, db):
    settings.REDIS_URL = DEAD_REDIS
    store.reset()
    client = Client(headers={"user-agent": BROWSER})
    client.raise_request_exception = False
    dead = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}}
    try:
        with override_settings(CACHES=dead, SESSION_ENGINE="django.contrib.sessions.backends.db"):
            assert client.get("/").status_code == 200  # counted in the database fallback
            assert client.post(URL, SAMPLE).status_code == 204
    finally:
        store.reset()

    assert RawTiming.objects.count() == 0
