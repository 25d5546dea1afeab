"""Issue #17: the address form's region picker (province / city / district) in real Chromium,
with its script (cascading selects filled from address_regions) and without it (the form's
"show the cities and districts" button)."""

import re

from playwright.sync_api import expect

from accounts.models import Address
from tests.factories import PASSWORD, MemberFactory


def _fill_the_rest(form) -> None:
    form.locator("input[name=recipient]").fill("王小明")
    form.locator("input[name=phone]").fill("13912345678")
    form.locator("input[name=detail]").fill("文三路 90 号 3 幢 501 室")


def test_choosing_a_province_offers_its_cities_then_the_districts(make_page, live_server, login, shot):
    member = MemberFactory()
    page = make_page(width=390, height=844, mobile=True, locale="zh-CN")
    login(page, member.email, PASSWORD)
    page.goto("/me/addresses/new/")
    form = page.locator("[data-testid=address-form]")
    city, district = form.locator("select[name=city]"), form.locator("select[name=district]")
    expect(city.locator("option")).to_have_count(1)
    shot(page, "01-empty")

    form.locator("select[name=province]").select_option("浙江省")
    expect(city.locator("option[value=杭州市]")).to_have_count(1)
    city.select_option("杭州市")
    expect(district.locator("option[value=西湖区]")).to_have_count(1)
    district.select_option("西湖区")
    _fill_the_rest(form)
    shot(page, "02-chosen")
    form.locator("button[type=submit]:not([name])").click()
    expect(page.locator("[data-testid=address-item]")).to_have_count(1)
    saved = Address.objects.get(user=member)
    assert (saved.province, saved.city, saved.district, saved.region_code) == ("浙江省", "杭州市", "西湖区", "330106")

    # Another province empties the lower levels: a city of the old one cannot be sent along.
    page.goto(f"/me/addresses/{saved.pk}/edit/")
    expect(city).to_have_value("杭州市")
    form.locator("select[name=province]").select_option("上海市")
    expect(city.locator("option[value=上海市]")).to_have_count(1)
    expect(city.locator("option[value=杭州市]")).to_have_count(0)
    expect(district).to_have_value("")


def test_without_script_the_button_fills_the_selects(browser, live_server, login, shot, request):
    member = MemberFactory()
    context = browser.new_context(base_url=live_server.url, locale="en", java_script_enabled=False)
    request.addfinalizer(context.close)
    page = context.new_page()
    login(page, member.email, PASSWORD)
    page.goto("/me/addresses/new/")
    form = page.locator("[data-testid=address-form]")
    form.locator("select[name=province]").select_option("河南省")
    _fill_the_rest(form)
    form.locator("[data-testid=region-refresh]").click()
    # Shown again with what was typed, its cities now listed, nothing saved.
    expect(form.locator("input[name=recipient]")).to_have_value("王小明")
    form.locator("select[name=city]").select_option("济源市")
    form.locator("[data-testid=region-refresh]").click()
    expect(form.locator("select[name=district]")).to_have_value("")
    shot(page, "no-script-chosen")
    assert not Address.objects.filter(user=member).exists()
    form.get_by_role("button", name="Save address").click()
    expect(page.locator("[data-testid=address-item]")).to_have_count(1)
    assert Address.objects.get(user=member).region_code == "419001"


def test_the_product_pages_new_address_has_the_same_picker(page, live_server, login, shot):
    from points import services as points_services
    from tests.catalog.factories import make_category, make_product

    member = MemberFactory()
    points_services.points_earn(user_id=member.pk, amount=900, idempotency_key="e2e:region:earn")
    product = make_product(make_category(name_en="Home", name_zh="家居", slug="home-region"), name_en="Ceramic mug")
    login(page, member.email, PASSWORD)
    page.goto(product.get_absolute_url())
    form = page.locator("[data-testid=address-add] [data-testid=address-form]")
    form.locator("select[name=province]").select_option("广东省")
    form.locator("select[name=city]").select_option("深圳市")
    form.locator("select[name=district]").select_option("南山区")
    _fill_the_rest(form)
    shot(page, "product-page-address")
    form.locator("[data-testid=address-save]").click()
    # Saved, and the redemption goes on with it.
    expect(page).to_have_url(re.compile(r"/redeem/\?quantity=1&address=\d+"))
    assert Address.objects.get(user=member).region_code == "440305"
