"""Issue #17's navigation in Chromium: the five-tab bar at 390 px (the active tab right on every
page, each tab opening its place), a guest's sign-in in the phone header, sign-out on 我的, the
order-status row of 我的 opening the list filtered to exactly that state, and the tier card."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from catalog import services as catalog_services
from points import services as points_services
from tests.catalog.factories import add_address, delivered_order, make_member, make_product, redeem, shipped_order
from tests.factories import PASSWORD


def test_the_tab_bar_on_a_phone_opens_each_place_and_lights_its_tab(make_page, login, shot):
    member = make_member(points=300)
    page = make_page(width=390, height=844, locale="zh-hans", mobile=True)

    # A guest sees sign-in and sign-up in the phone header.
    page.goto("/")
    header_user = page.get_by_test_id("header-user")
    expect(header_user.get_by_role("link", name="登录")).to_be_visible()
    expect(header_user.get_by_role("link", name="注册")).to_be_visible()

    login(page, member.email, PASSWORD)
    page.goto("/")
    tabbar = page.locator("nav.tabbar")
    expect(tabbar).to_be_visible()
    expect(tabbar.locator("a")).to_have_text(["首页", "签到·任务", "抽奖", "订单", "我的"])
    expect(tabbar.locator("a[aria-current=page]")).to_have_text("首页")
    shot(page, "01-home-390")

    for testid, url, label in (
        ("tab-order_list", r"/mall/orders/$", "订单"),
        ("tab-checkin", r"/checkin/$", "签到·任务"),
        ("tab-lottery", r"/lottery/$", "抽奖"),
        ("tab-account_overview", r"/me/$", "我的"),
        ("tab-home", r"^https?://[^/]+/$", "首页"),
    ):
        page.get_by_test_id(testid).click()
        expect(page).to_have_url(re.compile(url))
        expect(tabbar.locator("a[aria-current=page]")).to_have_count(1)
        expect(tabbar.locator("a[aria-current=page]")).to_have_text(label)

    # The pages below a tab keep it lit: tasks under 签到·任务, the tier under 我的.
    page.goto("/tasks/")
    expect(tabbar.locator("a[aria-current=page]")).to_have_text("签到·任务")
    page.goto("/points/tier/")
    expect(tabbar.locator("a[aria-current=page]")).to_have_text("我的")

    # Sign-out is a real button on 我的, reachable on a phone.
    page.get_by_test_id("tab-account_overview").click()
    sign_out = page.get_by_test_id("me-sign-out")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box is not None and box["height"] >= 44
    sign_out.click()
    expect(page.get_by_test_id("header-user").get_by_role("link", name="登录")).to_be_visible()


def test_the_order_row_counts_each_state_and_opens_only_those_orders(make_page, login, shot):
    member = make_member(points=5000)
    address = add_address(member)
    redeem(member, make_product(name_en="Lamp", points_price=100), address_id=address)  # to ship
    redeem(member, make_product(name_en="Kettle", points_price=100), address_id=address)  # to ship
    shipped_order(member, make_product(name_en="Umbrella", points_price=100))  # to receive
    done = delivered_order(member, make_product(name_en="Mug", points_price=100))
    catalog_services.order_confirm_receipt(order_id=done.pk, member_id=member.pk)  # to review
    cancelled = redeem(member, make_product(name_en="Scarf", points_price=100), address_id=address)
    catalog_services.order_cancel(order_id=cancelled.pk, member_id=member.pk)  # refund

    page = make_page(width=390, height=844, mobile=True)
    login(page, member.email, PASSWORD)
    page.goto("/me/")
    row = page.get_by_test_id("order-status-row")
    expected = {"to_pay": None, "to_ship": "2", "to_receive": "1", "to_review": "1", "refund": "1"}
    for tab, count in expected.items():
        badge = row.get_by_test_id(f"order-status-{tab}").get_by_test_id("order-status-count")
        if count is None:
            expect(badge).to_have_count(0)
        else:
            expect(badge).to_have_text(count)
    shot(page, "01-me-390")

    row.get_by_test_id("order-status-to_ship").click()
    expect(page).to_have_url(re.compile(r"/mall/orders/\?status=to_ship$"))
    rows = page.get_by_test_id("order-row")
    expect(rows).to_have_count(2)
    expect(rows.get_by_test_id("order-status")).to_have_text(["To ship", "To ship"])
    expect(page.locator(".order-tab.active")).to_have_count(1)
    expect(page.locator(".order-tab.active")).to_contain_text("To ship")
    shot(page, "02-orders-to-ship-390")

    page.goto("/me/")
    page.get_by_test_id("order-status-refund").click()
    expect(page.get_by_test_id("order-row")).to_have_count(1)
    expect(page.get_by_test_id("order-row")).to_contain_text("Scarf")

    # A made-up filter is said and ignored.
    page.goto("/mall/orders/?status=bogus")
    expect(page.locator(".messages")).to_contain_text("There is no order filter “bogus”: showing all orders.")
    expect(page.get_by_test_id("order-row")).to_have_count(5)


def test_the_tier_card_shows_the_benefits_and_the_way_to_the_next_tier(make_page, login, shot):
    make_product(name_en="Gold lounge pass", points_price=500, min_tier_rank=2)

    for locale, price, next_price, to_go in (
        ("en", "5% off", "15% off", "Earn 3,500 more points to reach Gold."),
        ("zh-hans", "9.5折", "8.5折", "再获得3,500积分即可升级为金牌会员。"),
    ):
        # One member per language: a member's saved language wins over the browser's.
        member = make_member(points=0)
        points_services.points_earn(user_id=member.pk, amount=1500, idempotency_key=f"e2e:tier:{locale}")
        page = make_page(width=390, height=844, locale=locale, mobile=True)
        login(page, member.email, PASSWORD)
        page.goto("/points/tier/")
        card = page.get_by_test_id("tier-status")
        expect(card.get_by_test_id("current-tier")).to_have_text("Silver" if locale == "en" else "银牌会员")
        expect(card.get_by_test_id("tier-progress-numbers")).to_have_text("1,500 / 5,000")
        expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "12")
        benefits = page.get_by_test_id("tier-benefits")
        expect(benefits.get_by_test_id("benefit-price")).to_contain_text(price)
        expect(benefits.get_by_test_id("benefit-multiplier")).to_contain_text("×1.1")
        expect(benefits.get_by_test_id("benefit-exclusive")).to_contain_text("0")
        perks = page.get_by_test_id("next-tier-perks")
        expect(perks).to_contain_text(next_price)
        expect(perks.locator("li.better")).not_to_have_count(0)
        expect(perks.get_by_test_id("next-exclusive")).to_have_class("better")
        expect(perks.get_by_test_id("next-exclusive").locator("strong")).to_have_text("1")  # the Gold-only item
        expect(page.get_by_test_id("to-next-tier")).to_have_text(to_go)
        shot(page, f"01-tier-{locale}-390")
