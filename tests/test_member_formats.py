"""The filters that put times, tier discounts, order statuses and numbers the way members read
them (issue #17), and the tab bar that lights the right tab on every page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from catalog.enums import OrderStatus
from catalog.order_states import MEMBER_STATUS_LABELS, member_status_label
from catalog.templatetags.catalog_orders import member_status
from pointsmall.context_processors import _nav_items
from pointsmall.templatetags.mall_format import moment, tier_discount
from pointsmall.templatetags.mall_icons import icon, icon_exists

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 0, 10, tzinfo=SHANGHAI)  # ten past midnight: "00:03" alone would lie


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


# --- times near midnight carry their day -------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "en", "zh"),
    [
        (at(1, 0, 3), "today 00:03", "今天 00:03"),
        (at(1, 23, 58), "today 23:58", "今天 23:58"),
        (datetime(2026, 11, 30, 23, 58, tzinfo=SHANGHAI), "yesterday 23:58", "昨天 23:58"),
        (at(2, 0, 5), "tomorrow 00:05", "明天 00:05"),
        (at(3, 0, 5), "2026-12-03 00:05", "2026-12-03 00:05"),
        (datetime(2026, 11, 29, 9, 0, tzinfo=SHANGHAI), "2026-11-29 09:00", "2026-11-29 09:00"),
    ],
)
def test_a_time_always_says_its_day(when, en, zh):
    with translation.override("en"):
        assert moment(when, NOW) == en
    with translation.override("zh-hans"):
        assert moment(when, NOW) == zh


def test_the_day_is_the_business_days_not_utcs():
    # 16:05 UTC on 30 Nov is 00:05 on 1 Dec in Shanghai: today, not yesterday.
    when = datetime(2026, 11, 30, 16, 5, tzinfo=ZoneInfo("UTC"))
    with translation.override("en"):
        assert moment(when, NOW) == "today 00:05"


def test_no_time_prints_nothing():
    assert moment(None) == ""
    assert moment("") == ""


# --- tier discounts: 折 in Chinese, % off in English -----------------------------------------


@pytest.mark.parametrize(
    ("percent", "en", "zh"),
    [
        (85, "15% off", "8.5折"),
        (80, "20% off", "8折"),
        (95, "5% off", "9.5折"),
        (88, "12% off", "8.8折"),
        (5, "95% off", "0.5折"),
        (100, "full price", "原价"),
        ("90", "10% off", "9折"),
        (None, "full price", "原价"),
    ],
)
def test_a_tier_discount_reads_as_zhe_in_chinese_and_percent_off_in_english(percent, en, zh):
    with translation.override("en"):
        assert tier_discount(percent) == en
    with translation.override("zh-hans"):
        assert tier_discount(percent) == zh


def test_a_tier_discount_of_something_not_a_number_prints_nothing():
    assert tier_discount("lots") == ""


# --- order statuses in members' words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "en", "zh"),
    [
        (OrderStatus.AWAITING_PAYMENT, "To pay", "待付款"),
        (OrderStatus.PENDING_REVIEW, "To ship", "待发货"),
        (OrderStatus.APPROVED, "To ship", "待发货"),
        (OrderStatus.SHIPPED, "To receive", "待收货"),
        (OrderStatus.COMPLETED, "Completed", "已完成"),
        (OrderStatus.CANCELLED, "Cancelled", "已取消"),
    ],
)
def test_an_order_status_reads_in_the_members_words(status, en, zh):
    with translation.override("en"):
        assert member_status(status) == en
    with translation.override("zh-hans"):
        assert member_status(status) == zh


def test_every_status_has_a_member_word_and_none_is_the_operators():
    assert set(MEMBER_STATUS_LABELS) == set(OrderStatus.values)
    with translation.override("zh-hans"):
        words = {member_status_label(s) for s in OrderStatus.values}
    assert not words & {"已审核", "审核中", "已批准"}
    with translation.override("en"):
        assert "Approved" not in {member_status_label(s) for s in OrderStatus.values}


def test_a_closed_order_still_refunding_cash_says_so():
    with translation.override("zh-hans"):
        assert member_status_label(OrderStatus.CANCELLED, refund_owed=True) == "退款中"
        # Only a closed order can be refunding: an open one keeps its own word.
        assert member_status_label(OrderStatus.SHIPPED, refund_owed=True) == "待收货"
    assert member_status_label("no-such-status") == "no-such-status"


# --- numbers grouped in both languages --------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_numbers_are_grouped_by_thousands_in_both_languages(language):
    with translation.override(language):
        assert intcomma(12345) == "12,345"
        assert intcomma(1234567) == "1,234,567"
        assert intcomma(999) == "999"
        rendered = Template("{% load humanize %}{{ n|intcomma }}").render(Context({"n": 20000}))
    assert rendered == "20,000"


def test_ids_and_other_plain_numbers_are_not_grouped():
    # USE_THOUSAND_SEPARATOR stays off: an id in a link must never read "12,345".
    with translation.override("zh-hans"):
        assert Template("{{ n }}").render(Context({"n": 12345})) == "12345"


# --- icons ------------------------------------------------------------------------------------


def test_an_icon_is_inline_and_decorative_and_an_unknown_one_falls_back():
    gift = str(icon("gift"))
    assert gift.startswith("<svg") and 'aria-hidden="true"' in gift and 'class="icon"' in gift
    assert str(icon("no-such-icon")) == str(icon("category"))
    assert str(icon("../../settings")) == str(icon("category"))
    assert icon_exists("crown") and not icon_exists("no-such-icon")


def test_every_category_icon_choice_is_vendored():
    from catalog.enums import CATEGORY_ICON_FALLBACK, CategoryIcon

    assert all(icon_exists(value) for value in CategoryIcon.values)
    assert icon_exists(CATEGORY_ICON_FALLBACK)


# --- the tab bar ------------------------------------------------------------------------------


def _active(path: str) -> list[str]:
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return [item["name"] for item in _nav_items(request) if item["active"]]


@pytest.mark.parametrize(
    ("path", "tab"),
    [
        ("/", "home"),
        ("/mall/", "home"),
        ("/mall/products/3/", "home"),
        ("/mall/orders/", "order_list"),
        ("/mall/orders/12/", "order_list"),
        ("/mall/pay/12/", "order_list"),
        ("/checkin/", "checkin"),
        ("/tasks/", "checkin"),
        ("/leaderboard/", "checkin"),
        ("/lottery/3/", "lottery"),
        ("/me/", "account_overview"),
        ("/me/addresses/", "account_overview"),
        ("/points/", "account_overview"),
        ("/points/tier/", "account_overview"),
    ],
)
def test_exactly_one_tab_is_lit_on_every_page(path, tab):
    assert _active(path) == [tab]


def test_the_tab_bar_has_the_five_daily_places_in_order():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with translation.override("zh-hans"):
        labels = [str(item["label"]) for item in _nav_items(request)]
    assert labels == ["首页", "签到·任务", "抽奖", "订单", "我的"]


def test_a_page_outside_every_tab_lights_none():
    assert _active("/rules/") == []
