"""Issue #12's end-to-end proof in Chromium: a member redeems an item, the header bell shows an
unread message, the inbox has "Order #N approved", and opening it lands on the order page."""

import re

from django.urls import reverse
from playwright.sync_api import expect

from accounts import services as accounts_services
from catalog.models import Order
from points import services as points_services
from tests.catalog.factories import make_category, make_product
from tests.factories import PASSWORD, MemberFactory

PIN = "258046"


def test_a_redemption_puts_a_message_in_the_inbox_that_opens_the_order(page, phone_page, login, shot):
    member = MemberFactory()
    # Below the "you earned N points" threshold: the order's message is the only one.
    points_services.points_earn(user_id=member.pk, amount=400, idempotency_key="e2e:inbox:earn")
    accounts_services.pin_set(user_id=member.pk, pin=PIN)
    accounts_services.address_create(
        user_id=member.pk,
        recipient="王小明",
        phone="13912345678",
        province="上海市",
        city="上海市",
        detail="世纪大道 100 号",
        is_default=True,
    )
    product = make_product(
        make_category(name_en="Home", name_zh="家居", slug="home-inbox"),
        name_en="Ceramic mug",
        name_zh="陶瓷杯",
        points_price=300,
        stock=5,
    )

    login(page, member.email, PASSWORD)
    expect(page.locator("[data-testid=header-unread]")).to_have_count(0)
    page.goto(f"/mall/products/{product.pk}/")
    page.locator("[data-testid=redeem-button]").click()
    page.locator("[data-testid=pin-input]").fill(PIN)
    page.locator("[data-testid=confirm-redeem]").click()
    expect(page.locator("[data-testid=order-detail]")).to_be_visible()
    order = Order.objects.get(member=member)

    # The bell in the header now counts one unread message; it opens the inbox.
    expect(page.locator("[data-testid=header-unread]")).to_have_text("1")
    page.locator("[data-testid=header-inbox]").click()
    expect(page).to_have_url(re.compile(r"/inbox/"))
    item = page.locator("[data-testid=inbox-item]").filter(has_text=f"Order #{order.pk} · To ship: Ceramic mug")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-read", "false")
    expect(item).to_contain_text("Your order is being packed and will ship soon.")
    shot(page, "01-inbox")

    # Opening it lands on the order page and marks it read.
    item.get_by_role("button", name="View").click()
    expect(page).to_have_url(re.compile(rf"/mall/orders/{order.pk}/$"))
    expect(page.locator("[data-testid=order-detail]")).to_be_visible()
    expect(page.locator("[data-testid=header-unread]")).to_have_count(0)
    shot(page, "02-order-page")

    page.locator("[data-testid=header-inbox]").click()
    expect(page.locator("[data-testid=inbox-item]").first).to_have_attribute("data-read", "true")

    # The same inbox at phone width.
    login(phone_page, member.email, PASSWORD)
    phone_page.goto(reverse("inbox"))
    expect(phone_page.locator("[data-testid=inbox-item]")).to_have_count(1)
    shot(phone_page, "03-inbox-phone")
