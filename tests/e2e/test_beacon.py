"""The beacon in a real browser: beacon.js sends the visible time when the page is left, through
Django's CSRF check, under the Content-Security-Policy."""

from __future__ import annotations

import time

import pytest

from pointsmall.analytics import services
from pointsmall.analytics.models import PageDaily
from pointsmall.kernel.clock import business_date
from tests.analytics.conftest import BROWSER, counters, live_redis, no_redis  # noqa: F401 (fixtures)
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chromium(playwright_driver):
    # Chromium headless says "HeadlessChrome", which the bot rule drops: this one says Chrome. The
    # flag, not the context's user_agent: a beacon sent as the page unloads leaves from the
    # browser process, which ignores the context's override.
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--user-agent={BROWSER}"]
    )
    yield browser
    browser.close()


def _home_timing() -> tuple[int, int]:
    day = business_date()
    services.traffic_rollup(day=day)
    row = PageDaily.objects.filter(day=day, page_type="home").first()
    return (row.timed_views, row.time_on_page_ms) if row else (0, 0)


@pytest.mark.usefixtures("counters")
def test_leaving_a_page_sends_its_visible_time(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/")
    assert page.locator("body").get_attribute("data-page-type") == "home"
    page.wait_for_timeout(1500)  # stay past the one-second floor before leaving
    page.click("a.brand")  # leave it the way a member does

    found = (0, 0)
    for _ in range(50):  # the beacon is sent in the background: wait for it, not for a time
        found = _home_timing()
        if found[0]:
            break
        time.sleep(0.2)
    context.close()

    assert found[0] == 1
    assert 1000 <= found[1] <= 30 * 60 * 1000
    assert errors == []  # no CSP violation, no script error
