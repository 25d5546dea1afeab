"""Issue #17's product page: the member's remaining quota (and the redemption still refusing past
it), an upcoming flash sale's own price on every page that shows it, recommendations without
sold-out items, the gallery's pictures with their alt texts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from catalog import rules, services
from catalog.enums import ProductKind
from catalog.images import product_image_create
from catalog.models import ProductImage, SalePrice
from catalog.services import shelf
from tests.catalog.factories import (
    add_image,
    image_upload,
    make_category,
    make_gold_member,
    make_member,
    make_product,
    redeem,
    written,
)
from tests.catalog.test_views_redeem import _post as redeem_post
from tests.catalog.test_views_redeem import _refusal as refusal

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def buyer(client):
    member = make_member(points=900)  # below Silver's 1,000: list prices
    client.force_login(member)
    return member


def _page(client, product, **headers):
    response = client.get(reverse("product_detail", args=[product.pk]), headers=headers)
    assert response.status_code == 200
    return response


def _button(html: str) -> str:
    match = re.search(r'<button[^>]*data-testid="redeem-button"[^>]*>(.*?)</button>', html, re.S)
    assert match, "no redeem button"
    return match.group(0)


# --- the quota (每人限兑) ----------------------------------------------------------------------


def test_quota_rules_say_what_is_left_and_which_limit_binds():
    assert rules.RedemptionQuota(per_day_limit=None, lifetime_limit=None).left is None
    quota = rules.RedemptionQuota(per_day_limit=2, lifetime_limit=3, used_today=1, used_total=1)
    assert (quota.left_today, quota.left_total, quota.left, quota.binding, quota.exhausted) == (1, 2, 1, "day", False)
    total = rules.RedemptionQuota(per_day_limit=2, lifetime_limit=3, used_today=0, used_total=3)
    assert (total.left, total.binding, total.exhausted) == (0, "total", True)
    over = rules.RedemptionQuota(per_day_limit=None, lifetime_limit=1, used_total=4)
    assert (over.left, over.exhausted) == (0, True)


def test_the_product_page_says_how_many_the_member_may_still_redeem(client, buyer):
    product = make_product(points_price=100, lifetime_limit=3, per_order_limit=3)
    redeem(buyer, product, quantity=2)

    response = _page(client, product)

    html = response.content.decode()
    assert "Limit 3 per member: you can redeem 1 more." in html
    assert response.context["max_quantity"] == 1
    assert 'max="1"' in html  # the quantity box stops at what is left
    assert "disabled" not in _button(html)
    assert "Redeem now" in _button(html)


def test_the_quota_reads_in_chinese_as_members_expect(client, buyer):
    product = make_product(points_price=100, lifetime_limit=3, per_order_limit=3)
    redeem(buyer, product, quantity=2)

    html = _page(client, product, **{"Accept-Language": "zh-hans"}).content.decode()

    assert "每人限兑 3 件，您还可兑 1 件" in html


def test_a_used_up_quota_disables_the_button_and_says_why(client, buyer):
    product = make_product(points_price=100, lifetime_limit=2, per_order_limit=2)
    redeem(buyer, product, quantity=2)

    html = _page(client, product).content.decode()

    button = _button(html)
    assert "disabled" in button
    assert "Limit reached" in button
    assert 'aria-describedby="pd-quota"' in button
    assert "Limit 2 per member: you have redeemed them all." in html
    assert 'data-testid="quantity"' not in html


def test_the_server_still_refuses_past_a_used_up_quota_and_writes_nothing(client, buyer):
    product = make_product(points_price=100, lifetime_limit=1, kind=ProductKind.PRIVILEGE)
    redeem(buyer, product)
    before = written()

    response = redeem_post(client, product)

    assert refusal(response) == "You can redeem this 1 time(s) in total; you have 0 left."
    assert written() == before


def test_a_used_up_daily_quota_says_come_back_tomorrow_and_tomorrow_it_is_back(client, buyer):
    product = make_product(points_price=100, per_day_limit=1, kind=ProductKind.PRIVILEGE)
    redeem(buyer, product)

    today = _page(client, product).content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        tomorrow = _page(client, product).content.decode()

    assert "Today's limit reached" in _button(today)
    assert "disabled" in _button(today)
    assert "Limit 1 a day per member: you have redeemed today's, come back tomorrow." in today
    assert "Limit 1 a day per member: you can redeem 1 more today." in tomorrow
    assert "disabled" not in _button(tomorrow)


def test_a_cancelled_order_gives_its_quota_back(client, buyer):
    product = make_product(points_price=100, lifetime_limit=1)
    order = redeem(buyer, product)
    assert "you have redeemed them all" in _page(client, product).content.decode()

    services.order_cancel(order_id=order.pk, member_id=buyer.pk)

    assert "Limit 1 per member: you can redeem 1 more." in _page(client, product).content.decode()


def test_no_quota_line_for_visitors_or_items_without_limits(client):
    limited = make_product(lifetime_limit=3)
    free = make_product()

    anonymous = _page(client, limited).content.decode()
    client.force_login(make_member())
    unlimited = _page(client, free).content.decode()

    assert 'data-testid="quota"' not in anonymous
    assert 'data-testid="signin-to-redeem"' in anonymous
    assert 'data-testid="quota"' not in unlimited


# --- an upcoming flash sale shows its own price -------------------------------------------------


def _upcoming_flash(points: int = 900, flash_points: int = 500, **fields):
    now = timezone.now()
    product = make_product(
        points_price=points,
        flash_sale=True,
        sale_starts_at=now + timedelta(hours=1),
        sale_ends_at=now + timedelta(hours=3),
        **fields,
    )
    SalePrice.objects.create(
        product=product, points_price=flash_points, starts_at=product.sale_starts_at, ends_at=product.sale_ends_at
    )
    return product


def test_an_upcoming_flash_sale_shows_its_flash_price_and_start_on_the_product_page(client, buyer):
    product = _upcoming_flash()

    response = _page(client, product)

    html = response.content.decode()
    card = response.context["card"]
    assert (card.upcoming, card.price.unit_points, card.shown_price.unit_points) == (True, 900, 500)
    assert 'data-testid="unit-points">500</strong>' in html
    assert 'data-testid="regular-points">900</s>' in html
    assert "Flash sale price" in html
    start = timezone.localtime(product.sale_starts_at).strftime("%m-%d %H:%M")
    assert f"At this price from {start} (now 900 points)." in html
    assert f"Opens {start}" in _button(html)


def test_an_upcoming_flash_price_shows_on_cards_and_home_shelves(client, buyer):
    product = _upcoming_flash()

    listing = client.get(reverse("product_list"))
    home = client.get(reverse("mall_home"))

    assert [c.shown_price.unit_points for c in listing.context["page"].object_list if c.id == product.pk] == [500]
    listing_html = listing.content.decode()
    assert 'data-testid="card-points">500<' in listing_html
    assert 'data-testid="card-opening-price"' in listing_html
    home_html = home.content.decode()
    assert 'data-testid="banner-points">500<' in home_html
    assert 'data-testid="card-points">500<' in home_html
    assert 'data-testid="card-points">900<' not in home_html


def test_an_upcoming_flash_price_is_the_members_tier_price(client):
    client.force_login(make_gold_member())
    product = _upcoming_flash(points=1000, flash_points=600)

    card = _page(client, product).context["card"]

    assert (card.shown_price.unit_points, card.shown_price.regular_points) == (510, 1000)  # 85% of 600


def test_a_flash_price_added_later_shows_on_the_next_page_not_a_cached_one(client, buyer):
    now = timezone.now()
    product = make_product(
        points_price=900,
        flash_sale=True,
        sale_starts_at=now + timedelta(hours=1),
        sale_ends_at=now + timedelta(hours=2),
    )
    assert _page(client, product).context["card"].shown_price.unit_points == 900

    SalePrice.objects.create(
        product=product, points_price=450, starts_at=product.sale_starts_at, ends_at=product.sale_ends_at
    )

    assert _page(client, product).context["card"].shown_price.unit_points == 450
    cards = client.get(reverse("product_list")).context["page"].object_list
    assert [c.shown_price.unit_points for c in cards if c.id == product.pk] == [450]


def test_at_the_opening_the_flash_price_is_the_price_and_the_button_opens(client, buyer):
    product = _upcoming_flash()
    before = _page(client, product)  # cached under a generation that ends at the opening
    assert before.context["card"].upcoming

    with time_machine.travel(product.sale_starts_at + timedelta(minutes=1), tick=False):
        response = _page(client, product)

    card = response.context["card"]
    assert (card.upcoming, card.price.unit_points, card.shown_price.unit_points) == (False, 500, 500)
    assert "Redeem now" in _button(response.content.decode())


def test_a_sale_price_that_ends_before_the_opening_is_not_the_flash_price(client, buyer):
    product = make_product(
        points_price=900,
        flash_sale=True,
        sale_starts_at=timezone.now() + timedelta(hours=2),
        sale_ends_at=timezone.now() + timedelta(hours=4),
    )
    SalePrice.objects.create(
        product=product,
        points_price=700,
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )

    card = _page(client, product).context["card"]

    assert card.opening_price is None
    assert card.shown_price.unit_points == 700  # the running sale price, the one of now


# --- recommendations leave out sold-out and off-shelf items -------------------------------------


def test_you_may_also_like_leaves_out_sold_out_and_off_shelf_items(client, buyer):
    category = make_category()
    product = make_product(category, name_en="Kettle")
    make_product(category, name_en="Teapot", sold=5)
    make_product(category, name_en="Empty cup", stock=0, sold=9)
    make_product(category, name_en="Hidden mug", on_shelf=False, sold=7)

    detail = _page(client, product).context["detail"]

    assert [c.name for c in detail.same_category] == ["Teapot"]


def test_members_who_redeemed_this_leaves_out_what_sold_out_since(client, buyer):
    category = make_category()
    product = make_product(category, points_price=10, kind=ProductKind.PRIVILEGE)
    other = make_product(make_category(), name_en="Other", points_price=10, stock=1, kind=ProductKind.PRIVILEGE)
    fan = make_member(points=100)
    redeem(fan, product)
    redeem(fan, other)  # its last one: sold out

    detail = _page(client, product).context["detail"]

    assert detail.co_redeemed == []


def test_a_strip_cached_before_an_item_sold_out_leaves_it_out_on_the_next_page(client, buyer):
    category = make_category()
    product = make_product(category, name_en="Kettle")
    last = make_product(category, name_en="Last teapot", points_price=10, stock=1, kind=ProductKind.PRIVILEGE)
    assert [c.name for c in _page(client, product).context["detail"].same_category] == ["Last teapot"]

    redeem(make_member(points=100), last)  # the stock module's guarded UPDATE: no signal, stock read live

    assert _page(client, product).context["detail"].same_category == []


def test_recommended_for_you_leaves_out_sold_out_items(client, buyer):
    category = make_category()
    seen = make_product(category, name_en="Seen")
    make_product(category, name_en="In stock", sold=1)
    make_product(category, name_en="Gone", stock=0, sold=9)
    _page(client, seen)

    home = client.get(reverse("mall_home")).context["home"]

    assert [c.name for c in home.recommended] == ["In stock"]


def test_a_recommendation_cached_before_it_sold_out_is_left_out(client, buyer):
    category = make_category()
    seen = make_product(category, name_en="Seen")
    last = make_product(category, name_en="Last one", points_price=10, stock=1, kind=ProductKind.PRIVILEGE)
    _page(client, seen)
    assert [c.name for c in client.get(reverse("mall_home")).context["home"].recommended] == ["Last one"]

    redeem(make_member(points=100), last)

    assert client.get(reverse("mall_home")).context["home"].recommended == []


def test_an_item_taken_off_the_shelf_leaves_the_strips_at_once(client, buyer):
    category = make_category()
    product = make_product(category)
    other = make_product(category, name_en="Teapot")
    assert [c.name for c in _page(client, product).context["detail"].same_category] == ["Teapot"]

    shelf.products_unshelve(product_ids=[other.pk])

    assert _page(client, product).context["detail"].same_category == []


# --- the gallery --------------------------------------------------------------------------------


def test_the_gallery_has_every_picture_in_order_with_alt_texts_and_lazy_loading(client, media):
    product = make_product(name_en="Mug")
    second = add_image(product, sort=1)
    add_image(product, sort=0)
    second.alt_en, second.alt_zh = "Mug: the handle", "杯子：把手"
    second.save()
    add_image(product, sort=2)

    html = _page(client, product).content.decode()

    slides = re.findall(r'<li class="gallery-slide"[^>]*>.*?</li>', html, re.S)
    assert len(slides) == 3
    assert 'alt="Mug"' in slides[0] and "loading=" not in slides[0]  # the first shows at once
    assert 'alt="Mug: the handle"' in slides[1] and 'loading="lazy"' in slides[1]
    assert 'alt="Mug (3)"' in slides[2] and 'loading="lazy"' in slides[2]
    assert 'data-testid="gallery-count"' in html and "1 / 3" in html
    assert html.count("data-gallery-dot") == 3
    assert html.count("data-gallery-thumb") == 3
    chinese = _page(client, product, **{"Accept-Language": "zh-hans"}).content.decode()
    assert 'alt="杯子：把手"' in chinese


def test_an_alt_text_written_in_one_language_stands_in_for_the_other(media):
    product = make_product()

    image = product_image_create(product_id=product.pk, upload=image_upload(), alt_zh="正面")

    with translation.override("en"):
        assert image.alt == "正面"
    assert ProductImage.objects.get(pk=image.pk).alt_zh == "正面"


def test_one_picture_has_no_arrows_dots_or_counter(client, media):
    product = make_product()
    add_image(product)

    html = _page(client, product).content.decode()

    assert html.count('class="gallery-slide"') == 1
    assert "data-gallery-step" not in html
    assert "data-gallery-dot" not in html
