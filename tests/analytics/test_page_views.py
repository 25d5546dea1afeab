"""Page views and unique visitors: counted once per visitor per business day, rolled up exactly."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from pointsmall.analytics import services
from pointsmall.analytics.models import PageDaily, ProductDaily, RawVisit
from pointsmall.analytics.visitors import COOKIE_NAME
from pointsmall.kernel.clock import business_date, business_zone
from tests.analytics.conftest import BROWSER
from tests.analytics.helpers import product_rolled, rolled
from tests.catalog.factories import make_product
from tests.factories import MemberFactory, StaffFactory


def test_two_views_by_one_visitor_are_two_views_and_one_visitor(counters, browser):
    assert browser.get("/").status_code == 200
    assert browser.get("/").status_code == 200

    assert rolled("home") == (2, 1)


def test_two_visitors_are_two_unique_visitors(counters, make_browser):
    first, second = make_browser(), make_browser()
    first.get("/")
    second.get("/")
    first.get("/")

    assert rolled("home") == (3, 2)


def test_a_signed_in_member_is_one_visitor_on_every_device(counters, make_browser):
    member = MemberFactory()
    phone, laptop = make_browser(), make_browser()
    phone.force_login(member)
    laptop.force_login(member)
    phone.get("/")
    laptop.get("/")

    assert rolled("home") == (2, 1)
    assert COOKIE_NAME not in phone.cookies  # members are counted by their id, no cookie needed


def test_the_next_business_day_counts_the_visitor_again(counters, browser):
    day = date(2026, 11, 20)
    late = datetime(2026, 11, 20, 23, 50, tzinfo=business_zone())
    with time_machine.travel(late, tick=False):
        browser.get("/")
        browser.get("/")
    with time_machine.travel(late + timedelta(minutes=20), tick=False):
        browser.get("/")

    assert rolled("home", day) == (2, 1)
    assert rolled("home", day + timedelta(days=1)) == (1, 1)


def test_an_anonymous_visitor_gets_a_first_party_cookie_once(counters, browser):
    first = browser.get("/")
    cookie = first.cookies[COOKIE_NAME]
    value, _, signature = cookie.value.partition(":")
    assert re.fullmatch(r"[0-9a-f]{32}", value) and signature  # issued by the mall: signed
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 365 * 24 * 3600
    assert "private" in first["Cache-Control"]

    assert COOKIE_NAME not in browser.get("/").cookies  # already set: not sent again


def test_the_rollup_writes_the_same_figures_twice(counters, make_browser):
    for client in (make_browser(), make_browser(), make_browser()):
        client.get("/")
        client.get("/mall/products/")

    assert rolled("home") == (3, 3)
    assert rolled("home") == (3, 3)
    assert rolled("catalog") == (3, 3)
    assert PageDaily.objects.count() == 2


def test_the_page_types_follow_the_member_pages(counters, browser):
    member = MemberFactory()
    browser.force_login(member)
    for path in ("/checkin/", "/tasks/", "/lottery/", "/points/", "/me/", "/me/inbox/", "/mall/orders/"):
        assert browser.get(path).status_code == 200, path

    day = business_date()
    services.traffic_rollup(day=day)
    counted = dict(PageDaily.objects.filter(day=day).values_list("page_type", "views"))
    assert counted == {"checkin": 1, "tasks": 1, "lottery": 1, "points": 1, "account": 1, "inbox": 1, "orders": 1}


@pytest.mark.parametrize(
    ("user_agent", "why"),
    [
        ("", "no User-Agent"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "search crawler"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0", "headless"),
        ("python-requests/2.32", "script"),
        ("curl/8.5.0", "script"),
    ],
)
def test_bots_are_not_counted(counters, db, user_agent, why):
    response = Client(headers={"user-agent": user_agent}).get("/")

    assert response.status_code == 200
    assert COOKIE_NAME not in response.cookies, why
    assert rolled("home") == (0, 0), why


def test_admin_htmx_404_post_and_head_are_not_counted(counters, browser):
    browser.force_login(StaffFactory(is_superuser=True))
    browser.get("/admin/")
    browser.get("/", headers={"HX-Request": "true"})
    assert browser.get("/mall/products/999999/").status_code == 404
    assert browser.get("/no-such-page/").status_code == 404
    browser.post("/i18n/setlang/", {"language": "en"})
    browser.head("/")
    browser.get("/static/js/beacon.js")

    day = business_date()
    services.traffic_rollup(day=day)
    assert PageDaily.objects.filter(day=day).count() == 0
    assert RawVisit.objects.count() == 0


def test_a_product_page_counts_for_the_product_and_the_confirmation_page_starts_a_redemption(counters, browser):
    product, other = make_product(), make_product()
    member = MemberFactory()
    browser.force_login(member)
    browser.get(f"/mall/products/{product.pk}/")
    browser.get(f"/mall/products/{product.pk}/")
    assert browser.get(f"/mall/products/{product.pk}/redeem/").status_code == 200
    make_browser_view = Client(headers={"user-agent": BROWSER})
    make_browser_view.get(f"/mall/products/{other.pk}/")

    assert product_rolled(product.pk) == (2, 1, 1)
    assert product_rolled(other.pk) == (1, 1, 0)
    assert rolled("product") == (3, 2)
    assert rolled("redeem") == (1, 1)


def test_member_pages_carry_their_page_type_for_the_beacon(counters, browser):
    page = browser.get("/").content.decode()
    assert 'data-page-type="home"' in page
    assert 'data-beacon-url="/analytics/beacon"' in page
    assert "js/beacon.js" in page


def test_pages_that_are_not_counted_carry_no_beacon(counters, browser):
    page = browser.get("/", headers={"HX-Request": "true"}).content.decode()
    assert "data-page-type" not in page
    assert "js/beacon.js" not in page


def test_a_page_of_a_deleted_product_is_counted_for_the_page_only(counters, browser):
    product = make_product()
    browser.get(f"/mall/products/{product.pk}/")
    product_id = product.pk
    ProductDaily.objects.all().delete()
    product.delete()

    assert rolled("product") == (1, 1)
    assert not ProductDaily.objects.filter(product_id=product_id).exists()
