"""Issue #5's end-to-end proof in Chromium: browse → filter → redeem a physical item with an
address and the payment PIN → see it in my orders → an operator ships it in the admin →
the member confirms receipt → reviews it → the review points appear.
"""

from playwright.sync_api import expect

from accounts import services as accounts_services
from catalog.models import Order
from points import services as points_services
from tests.catalog.factories import make_category, make_product
from tests.factories import PASSWORD, MemberFactory, StaffFactory


def test_browse_redeem_ship_confirm_review(page, make_page, live_server, login, shot, settings):
    settings.ADMIN_REQUIRE_MFA = False
    member = MemberFactory()
    points_services.points_earn(user_id=member.pk, amount=900, idempotency_key="e2e:catalog:earn")
    accounts_services.pin_set(user_id=member.pk, pin="258046")
    accounts_services.address_create(
        user_id=member.pk,
        recipient="王小明",
        phone="13912345678",
        province="上海市",
        city="上海市",
        detail="世纪大道 100 号",
        is_default=True,
    )
    home = make_category(name_en="Home", name_zh="家居", slug="home-e2e")
    make_product(make_category(name_en="Books", name_zh="图书", slug="books-e2e"), name_en="Notebook")
    make_product(home, name_en="Ceramic mug", name_zh="陶瓷杯", points_price=300, stock=5)

    login(page, member.email, PASSWORD)
    page.goto("/mall/products/")
    page.locator("[data-testid=filter-categories]").get_by_text("Home").click()
    cards = page.locator("[data-testid=product-card]")
    expect(cards).to_have_count(1)
    shot(page, "01-filtered")
    cards.first.get_by_text("Ceramic mug").click()
    expect(page.locator("[data-testid=product-name]")).to_have_text("Ceramic mug")
    expect(page.locator("[data-testid=address-option]").first).to_be_checked()
    page.locator("[data-testid=redeem-button]").click()

    expect(page.locator("[data-testid=quote-points]")).to_contain_text("300")
    page.locator("[data-testid=pin-input]").fill("258046")
    shot(page, "02-confirm")
    page.locator("[data-testid=confirm-redeem]").click()
    expect(page.locator("[data-testid=order-detail]")).to_be_visible()
    order = Order.objects.get(member=member)
    assert (order.status, order.points_total, order.recipient) == ("approved", 300, "王小明")
    expect(page.locator("[data-testid=header-points]")).to_contain_text("600")
    page.goto("/mall/orders/")
    expect(page.locator("[data-testid=order-row]")).to_have_count(1)
    shot(page, "03-my-orders")

    operator = StaffFactory()
    admin = make_page()
    login(admin, operator.email, PASSWORD)
    admin.goto("/admin/catalog/order/")
    admin.locator(f"input[name=_selected_action][value='{order.pk}']").check()
    admin.locator("select[name=action]").select_option("ship_orders")
    admin.locator("button[name=index]").click()
    admin.locator(f"input[name=carrier_{order.pk}]").fill("SF Express")
    admin.locator(f"input[name=tracking_{order.pk}]").fill("SF1234567890")
    shot(admin, "04-admin-ship")
    admin.locator("input[type=submit][value=Ship]").click()
    expect(admin.locator(".messagelist")).to_be_visible()
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == ("shipped", "SF1234567890")

    page.goto(f"/mall/orders/{order.pk}/")
    expect(page.locator("[data-testid=order-tracking]")).to_contain_text("SF1234567890")
    page.locator("[data-testid=confirm-receipt]").click()
    page.locator("[data-testid=confirm-dialog-ok]").click()  # the page's own dialog (static/js/dialogs.js)
    expect(page.locator("[data-testid=write-review]")).to_be_visible()
    page.locator("[data-testid=write-review]").click()
    page.locator("label[for=rating-5]").click()
    expect(page.locator("#rating-5")).to_be_checked()
    page.locator("[data-testid=review-form] [name=text]").fill("Lovely mug, arrived well packed.")
    page.locator("[data-testid=post-review]").click()
    expect(page.locator("[data-testid=header-points]")).to_contain_text("605")
    shot(page, "05-reviewed")
    order.refresh_from_db()
    assert order.status == "completed"
    assert points_services.points_verify().ok
