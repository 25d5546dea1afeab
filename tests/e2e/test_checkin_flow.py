"""The check-in page in a real browser: the button updates the panel in place (htmx, no reload),
a make-up and the reminder form work, the page fits a phone and keeps the CSP (decision 0024).

The server's clock is moved to a fixed day (ticking) so that make-up days exist whatever the
real date; it is a future day, so the session cookie the server sets is not already expired
for the browser.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import Page, expect

from points import services as points_services
from tests.e2e.test_layout_and_policy import CSP_RECORDER, OVERFLOW_PROBE
from tests.factories import PASSWORD, MemberFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
JOINED = datetime(2027, 1, 2, 9, 0, tzinfo=SHANGHAI)
NOW = datetime(2027, 1, 14, 12, 0, tzinfo=SHANGHAI)  # a Thursday


@pytest.fixture
def member(transactional_db):
    with time_machine.travel(JOINED, tick=False):
        user = MemberFactory()
        points_services.points_earn(user_id=user.pk, amount=100, idempotency_key="e2e-fund")
    return user


@pytest.fixture
def server_clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def _fits(page: Page) -> None:
    measured = page.evaluate(OVERFLOW_PROBE)
    assert measured["scroll"] <= measured["width"], measured["wide"]
    assert page.evaluate("window.__cspViolations || []") == []


@pytest.mark.parametrize("width", [360, 390, 1280])
def test_check_in_make_up_and_reminder_in_place(make_page, login, shot, member, server_clock, width):
    page = make_page(width=width, height=844, mobile=width < 768)
    page.add_init_script(CSP_RECORDER)
    login(page, member.email, PASSWORD)
    page.goto("/checkin/")
    expect(page.get_by_test_id("checkin-streak")).to_contain_text("0 days")
    _fits(page)
    page.evaluate("window.__samePage = true")

    expect(page.get_by_test_id("checkin-day-2027-01-14")).not_to_have_attribute("data-state", "checked")
    page.get_by_test_id("checkin-button").click()
    expect(page.get_by_test_id("checkin-pop")).to_have_text("+5")
    # The header's balance follows without a reload (100 + 5).
    expect(page.get_by_test_id("header-points")).to_have_text("105")
    # The calendar updates in place: today is checked.
    expect(page.get_by_test_id("checkin-day-2027-01-14")).to_have_attribute("data-state", "checked")
    expect(page.get_by_test_id("checkin-done")).to_be_visible()
    expect(page.get_by_test_id("checkin-streak")).to_contain_text("1 day")
    assert page.evaluate("window.__samePage === true"), "the page reloaded"
    shot(page, f"checked-in-{width}")

    page.get_by_test_id("makeup-points-2027-01-13").click()
    expect(page.get_by_test_id("checkin-day-2027-01-13")).to_have_attribute("data-state", "made_up")
    expect(page.get_by_test_id("checkin-streak")).to_contain_text("2 days")
    assert page.evaluate("window.__samePage === true"), "the page reloaded"

    page.get_by_label("Remind me daily").check()
    page.get_by_label("At").select_option("21")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Reminder settings saved.")).to_be_visible()
    assert page.evaluate("window.__samePage === true"), "the page reloaded"
    _fits(page)
    shot(page, f"after-{width}")
