"""The ledger's pages in a real browser: header balance, /points/, language, rules, 404, phone layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from points import rules
from points import services as points_services
from tests.factories import PASSWORD

SAME_DOCUMENT = "window.__e2eSameDocument"


@dataclass(frozen=True)
class History:
    email: str
    expiring_day: date


@pytest.fixture
def member_with_history(member) -> History:
    """A year of points: one lot partly spent then expired, one expiring within 30 days, one pending.

    300 earned 400 days ago, 120 of it spent; its last 180 expire (12-month rule) when the
    earning 20 days ago settles the account. 250 earned 350 days ago, 150 of it spent 5 days
    ago (soonest expiry first), so 100 expire within the month. Balance 500, pending 120.
    """
    now = timezone.now()
    coffee = {"name": {"zh": "咖啡券", "en": "Coffee voucher"}, "quantity": 1}
    speaker = {"name": {"zh": "蓝牙音箱", "en": "Bluetooth speaker"}, "quantity": 1}
    steps = [
        (400, points_services.points_earn, 300, "points.purchase", {"order": "#1001"}),
        (380, points_services.points_spend, 120, "catalog.redeemed", coffee),
        (350, points_services.points_earn, 250, "points.purchase", {"order": "#1002"}),
        (20, points_services.points_earn, 400, "points.purchase", {"order": "#1003"}),
        (5, points_services.points_spend, 150, "catalog.redeemed", speaker),
    ]
    for number, (days_ago, service, amount, code, params) in enumerate(steps):
        with time_machine.travel(now - timedelta(days=days_ago), tick=False):
            service(
                user_id=member.pk, amount=amount, idempotency_key=f"e2e:{number}", memo_code=code, memo_params=params
            )
    points_services.points_earn(
        user_id=member.pk,
        amount=120,
        idempotency_key="e2e:pending",
        available_at=now + timedelta(days=5),
        memo_code="points.purchase",
        memo_params={"order": "#2001"},
    )
    earned_local = (now - timedelta(days=350)).astimezone(ZoneInfo(settings.TIME_ZONE))
    return History(email=member.email, expiring_day=rules.add_months(earned_local, 12).date())


def _mark_document(page: Page) -> None:
    """Tag the current document, so a later check can tell an in-place update from a reload."""
    page.evaluate(f"{SAME_DOCUMENT} = true")


def _assert_same_document(page: Page) -> None:
    assert page.evaluate(f"{SAME_DOCUMENT} === true"), "the page reloaded instead of updating in place"


def test_member_sees_exact_balance_expiring_points_and_readable_history(page, login, shot, member_with_history):
    login(page, member_with_history.email, PASSWORD)

    expect(page.get_by_test_id("header-points")).to_have_text("500")
    shot(page, "home-signed-in")

    page.get_by_test_id("header-points").click()
    expect(page).to_have_url(re.compile(r"/points/$"))
    expect(page.get_by_test_id("available-points")).to_have_text("500")
    use_by = f"{member_with_history.expiring_day:%Y-%m-%d}"
    stats = page.get_by_test_id("points-summary").locator(".hero-stats > div")
    expect(stats.filter(has_text="Pending").locator("strong")).to_have_text("120")
    expect(stats.filter(has_text="Expiring in 30 days").locator("strong")).to_have_text("100")
    expect(stats.filter(has_text="Next expiry (100 pts)").locator("strong")).to_have_text(use_by)
    expiring = page.locator("section.card").filter(has=page.get_by_role("heading", name="Expiring soon")).locator("li")
    expect(expiring).to_have_count(1)
    expect(expiring.locator("span")).to_have_text(f"Use by {use_by}")
    expect(expiring.locator("strong")).to_have_text("100")
    expect(page.get_by_test_id("history").locator(".title")).to_have_text(
        [
            "Purchase #2001",
            "Redeemed: Bluetooth speaker ×1",
            "Purchase #1003",
            "Points expired",
            "Purchase #1002",
            "Redeemed: Coffee voucher ×1",
            "Purchase #1001",
        ]
    )
    expect(page.get_by_test_id("history").locator(".amount")).to_have_text(
        ["+120", "-150", "+400", "-180", "+250", "-120", "+300"]
    )
    expect(page.get_by_test_id("history").locator("li").first).to_contain_text("Pending")
    shot(page, "points-page")


@pytest.mark.parametrize(
    ("chip", "kind", "titles"),
    [
        pytest.param("Spent", "spent", ["Redeemed: Bluetooth speaker ×1", "Redeemed: Coffee voucher ×1"], id="spent"),
        pytest.param("Expired", "expired", ["Points expired"], id="expired"),
        pytest.param(
            "Earned",
            "earned",
            ["Purchase #2001", "Purchase #1003", "Purchase #1002", "Purchase #1001"],
            id="earned",
        ),
    ],
)
def test_history_filter_chips_update_the_list_in_place(page, login, shot, member_with_history, chip, kind, titles):
    login(page, member_with_history.email, PASSWORD, next_url="/points/")
    expect(page.get_by_test_id("history").locator("li")).to_have_count(7)
    _mark_document(page)

    with page.expect_response(lambda response: f"kind={kind}" in response.url) as partial:
        page.locator(".chips").get_by_role("tab", name=chip, exact=True).click()

    assert partial.value.request.headers.get("hx-request") == "true"
    assert partial.value.status == 200
    expect(page).to_have_url(re.compile(rf"/points/\?kind={kind}$"))
    expect(page.get_by_test_id("history").locator(".title")).to_have_text(titles)
    _assert_same_document(page)
    shot(page, f"filtered-{kind}")


def test_reversed_date_range_shows_an_error_in_place(page, login, shot, member_with_history):
    login(page, member_with_history.email, PASSWORD, next_url="/points/")
    _mark_document(page)

    page.get_by_test_id("date-trigger").click()  # the date sheet (docs/decisions/0060)
    page.get_by_label("From").fill("2026-03-10")
    page.get_by_label("To").fill("2026-03-01")
    page.get_by_role("button", name="Apply").click()

    # The start is ignored and said; the end still applies.
    expect(page.locator("#history-body .errorlist")).to_have_text(
        "The start date 2026-03-10 is after the end date 2026-03-01, so the start date was ignored."
    )
    expect(page).to_have_url(re.compile(r"date_from=2026-03-10&date_to=2026-03-01"))
    expect(page.get_by_test_id("date-summary")).to_have_text("… – 2026-03-01")
    _assert_same_document(page)
    shot(page, "reversed-date-range")


def test_language_switch_to_chinese_persists_on_the_next_page(page, shot):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.locator("#language-select").select_option(label="简体中文")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#language-select")).to_have_value("zh-hans")
    expect(page).to_have_url(re.compile(r"/$"))
    shot(page, "home-zh-hans")
    page.goto("/rules/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#language-select")).to_have_value("zh-hans")
    # The rules title is operator content stored in both languages, so it proves the switch
    # without waiting for the translation files.
    expect(page.get_by_role("heading", level=1)).to_have_text("积分规则说明")
    shot(page, "rules-zh-hans")


def test_rules_page_shows_the_expiry_rule_to_anonymous_visitors(page, shot):
    response = page.goto("/rules/")

    assert response is not None
    assert response.status == 200
    expect(page.locator("form[action='/accounts/logout/']")).to_have_count(0)
    expect(page.get_by_test_id("expiry-rule")).to_have_text(
        "Points are valid for 12 months from the day they are earned. "
        "They can be used until the end of the last day. "
        "We send you a reminder 30 days before points expire."
    )
    shot(page, "rules")


def test_unknown_url_shows_the_404_page_in_the_mall_design(page, shot):
    response = page.goto("/does-not-exist/")

    assert response is not None
    assert response.status == 404
    expect(page.locator(".error-page .code")).to_have_text("404")
    expect(page.get_by_role("heading", level=1)).to_have_text("We can't find that page")
    expect(page.locator("header.site-header")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the mall")).to_have_attribute("href", "/")
    shot(page, "not-found")


def test_stylesheet_is_served_and_applied(page):
    with page.expect_response(lambda response: response.url.endswith("/static/css/mall.css")) as stylesheet:
        page.goto("/")

    assert stylesheet.value.status == 200
    header = page.locator(".site-header")
    expect(header).to_have_css("position", "sticky")
    expect(header).to_have_css("background-color", "rgb(255, 255, 255)")


def test_phone_width_shows_the_tab_bar_and_hides_the_desktop_nav(phone_page, shot):
    phone_page.goto("/")

    expect(phone_page.locator("nav.tabbar")).to_be_visible()
    expect(phone_page.locator("nav.main-nav")).to_be_hidden()
    expect(phone_page.locator("nav.tabbar a").first).to_have_text("Home")
    shot(phone_page, "home-phone")


def test_desktop_width_shows_the_nav_and_hides_the_tab_bar(page, shot):
    page.goto("/")

    expect(page.locator("nav.main-nav")).to_be_visible()
    expect(page.locator("nav.tabbar")).to_be_hidden()
    expect(page.locator("nav.main-nav a").first).to_have_text("Home")
    shot(page, "home-desktop")
