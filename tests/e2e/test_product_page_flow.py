"""Issue #17's product page in Chromium: the phone's sticky buy bar (visible at 390 px wherever the
member scrolls, and it redeems), the gallery (next, keys and a swipe change the picture shown),
a used-up quota's disabled button saying why, and the catalog's range chips (one highlighted)."""

from __future__ import annotations

from playwright.sync_api import expect

from catalog.enums import ProductKind
from tests.catalog.factories import add_address, add_image, make_category, make_member, make_product, redeem
from tests.factories import PASSWORD


def _member(points: int = 900):
    """A member with points (below Silver: list prices), the factories' payment PIN and a default address."""
    member = make_member(points=points)
    add_address(member, is_default=True)
    return member


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 0.5


def test_the_phone_buy_bar_stays_in_view_and_redeems(make_page, login, shot, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    member = _member()
    category = make_category(name_en="Home", slug="home-pd17")
    product = make_product(
        category, name_en="Ceramic mug", points_price=300, cash_price="9.90", description_en="A mug.\n" * 40
    )
    for sort in range(3):
        add_image(product, sort=sort)
    page = make_page(width=390, height=844, mobile=True)
    login(page, member.email, PASSWORD)

    page.goto(f"/mall/products/{product.pk}/")
    bar = page.locator("[data-testid=buy-bar]")
    button = bar.locator("[data-testid=redeem-button]")
    expect(bar).to_be_visible()
    expect(page.locator("[data-testid=buy-bar-price]")).to_contain_text("300")
    expect(page.locator("[data-testid=buy-bar-price]")).to_contain_text("¥9.90")
    assert _in_viewport(page, button)
    assert bar.evaluate("el => getComputedStyle(el).position") == "fixed"
    expect(page.locator("nav.tabbar")).to_be_hidden()  # the bar takes its place on this page (decision 0059)
    page.locator("[data-testid=description]").scroll_into_view_if_needed()
    page.mouse.wheel(0, 3000)
    assert _in_viewport(page, button)  # still in reach at the bottom of the page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "01-phone-buy-bar")

    button.click()
    expect(page.locator("[data-testid=quote-points]")).to_contain_text("300")


def test_the_wide_page_keeps_the_button_in_the_details_without_a_bar(page, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    member = _member()
    product = make_product(name_en="Ceramic mug", points_price=300)
    login(page, member.email, PASSWORD)

    page.goto(f"/mall/products/{product.pk}/")

    bar = page.locator("[data-testid=buy-bar]")
    assert bar.evaluate("el => getComputedStyle(el).position") == "static"
    expect(page.locator("[data-testid=buy-bar-price]")).to_be_hidden()
    expect(bar.locator("[data-testid=redeem-button]")).to_be_enabled()


def test_the_gallery_moves_with_next_the_keys_and_a_swipe(make_page, shot, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    product = make_product(name_en="Ceramic mug")
    for sort in range(3):
        add_image(product, sort=sort)
    page = make_page(width=390, height=844, mobile=True)
    page.goto(f"/mall/products/{product.pk}/")
    track = page.locator("[data-testid=gallery-track]")
    count = page.locator("[data-testid=gallery-count]")
    expect(count).to_have_text("1 / 3")
    expect(page.locator("[data-testid=gallery-prev]")).to_be_disabled()

    page.locator("[data-testid=gallery-next]").click()
    expect(count).to_have_text("2 / 3")
    page.wait_for_function("el => Math.abs(el.scrollLeft - el.clientWidth) < 2", arg=track.element_handle())

    track.focus()
    page.keyboard.press("ArrowRight")
    expect(count).to_have_text("3 / 3")
    expect(page.locator("[data-testid=gallery-next]")).to_be_disabled()
    page.keyboard.press("Home")
    expect(count).to_have_text("1 / 3")
    page.wait_for_function("el => el.scrollLeft < 1", arg=track.element_handle())

    # A swipe scrolls the track by a picture; the counter and dots follow the picture shown.
    track.evaluate("el => el.scrollBy({left: el.clientWidth, behavior: 'instant'})")
    expect(count).to_have_text("2 / 3")
    expect(page.locator("[data-gallery-dot][aria-current=true]")).to_have_attribute("href", "#pd-picture-2")
    shot(page, "02-gallery-second-picture")


def test_the_gallery_without_script_is_a_row_of_pictures_that_scrolls(browser, live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    product = make_product(name_en="Ceramic mug")
    for sort in range(2):
        add_image(product, sort=sort)
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    try:
        page = context.new_page()
        page.goto(f"/mall/products/{product.pk}/")
        track = page.locator("[data-testid=gallery-track]")
        expect(page.locator("[data-testid=gallery-slide]")).to_have_count(2)
        expect(page.locator("[data-testid=gallery-next]")).to_be_hidden()  # the arrows need the script
        assert track.evaluate("el => el.scrollWidth >= 2 * el.clientWidth - 2")
        assert track.evaluate("el => getComputedStyle(el).scrollSnapType").startswith("x")
    finally:
        context.close()


def test_a_used_up_quota_disables_the_button_and_says_why(make_page, login, shot, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    member = _member()
    product = make_product(name_en="Tea voucher", kind=ProductKind.PRIVILEGE, points_price=100, lifetime_limit=1)
    redeem(member, product)  # the one allowed
    page = make_page(width=390, height=844, mobile=True, locale="zh-CN")
    login(page, member.email, PASSWORD)

    page.goto(f"/mall/products/{product.pk}/")

    button = page.locator("[data-testid=redeem-button]")
    expect(button).to_be_disabled()
    expect(page.locator("[data-testid=quota]")).to_be_visible()
    assert _in_viewport(page, button)
    description = button.get_attribute("aria-describedby")
    assert description == "pd-quota"
    expect(page.locator(f"#{description}")).not_to_be_empty()
    shot(page, "03-quota-used-up")


def test_one_range_chip_is_highlighted_and_a_chip_filters(page, shot):
    books = make_category(name_en="Books", slug="books-pd17")
    make_product(books, name_en="Pen", points_price=300)
    make_product(books, name_en="Atlas", points_price=6000)

    page.goto("/mall/products/")
    chips = page.locator("[data-testid=filter-points-ranges] .option.is-checked")
    expect(chips).to_have_count(1)
    expect(chips).to_have_text("Any points")

    page.locator("[data-testid=points-range]", has_text="5,000–9,999").click()
    expect(page.locator("[data-testid=product-card]")).to_have_count(1)
    expect(page.locator("[data-testid=product-card]")).to_contain_text("Atlas")
    expect(chips).to_have_count(1)
    expect(chips).to_have_text("5,000–9,999")
    expect(page.locator("[data-testid=filter-min-points]")).to_have_value("5000")

    page.locator("[data-testid=sort]").get_by_text("Newest").click()
    expect(page.locator("[data-testid=sort] .sort-chip.is-checked")).to_have_count(1)
    expect(page.locator("[data-testid=sort] .sort-chip.is-checked")).to_have_text("Newest")
    page.locator("[data-testid=filter-categories]").get_by_text("Books").click()
    expect(page.locator("[data-testid=filter-categories] .option.is-checked")).to_have_count(1)
    expect(page.locator("[data-testid=filter-categories] .option.is-checked")).to_have_text("Books")

    page.locator("[data-testid=filter-min-points]").fill("9000")
    page.locator("[data-testid=filter-max-points]").fill("100")
    page.locator("[data-testid=filter-max-points]").press("Enter")
    expect(page.locator("[data-testid=filter-errors]")).to_contain_text("Maximum points “100” ignored")
    expect(chips).to_have_text("Custom: 9,000 and up")
    shot(page, "04-filter-ignored")
