from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import selectors, services
from catalog.enums import OrderStatus, ProductKind, SortOrder
from catalog.models import SalePrice
from catalog.selectors import CatalogQuery, MemberPricing
from points.models import Campaign
from tests.catalog.factories import (
    add_codes,
    add_image,
    delivered_order,
    give_points,
    make_category,
    make_gold_member,
    make_member,
    make_product,
    redeem,
)

pytestmark = pytest.mark.django_db
ANYONE = MemberPricing()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _names(page_or_cards) -> list[str]:
    return [card.name for card in page_or_cards]


def _shelf(count: int, category=None) -> list:
    category = category or make_category()
    products = []
    for i in range(count):
        product = make_product(category, points_price=100 + i)
        add_image(product)
        SalePrice.objects.create(
            product=product,
            points_price=90 + i,
            starts_at=timezone.now() - timedelta(hours=1),
            ends_at=timezone.now() + timedelta(hours=1),
        )
        products.append(product)
    return products


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured.captured_queries)


def test_product_page_runs_the_same_number_of_queries_for_5_and_40_cards(media):
    member = make_gold_member()
    pricing = selectors.member_pricing(user_id=member.pk)
    _shelf(5)

    def page_of_40() -> None:
        page = selectors.product_page(query=CatalogQuery(), pricing=pricing, per_page=40)
        assert all(card.thumb_url for card in page.object_list)

    few = _queries(page_of_40)
    _shelf(35)
    many = _queries(page_of_40)

    assert (few, many) == (3, 3)  # tier names, count, the page
    assert len(selectors.product_page(query=CatalogQuery(), pricing=pricing, per_page=40).object_list) == 40


def test_cards_show_the_members_tier_price_the_sale_price_and_the_regular_price_struck():
    member = make_gold_member()
    pricing = selectors.member_pricing(user_id=member.pk)
    product = make_product(points_price=1000)
    SalePrice.objects.create(
        product=product,
        points_price=800,
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=2),
    )

    [card] = selectors.product_page(query=CatalogQuery(), pricing=pricing).object_list

    assert (card.price.regular_points, card.price.list_points, card.price.unit_points) == (1000, 800, 680)
    assert card.price.on_sale is True
    assert card.price.saved_per_unit == 120
    assert card.countdown_to == SalePrice.objects.get().ends_at
    assert pricing.discount_percent == 15


def test_a_sale_price_outside_its_window_is_ignored():
    product = make_product(points_price=1000)
    SalePrice.objects.create(
        product=product,
        points_price=500,
        starts_at=timezone.now() + timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=2),
    )

    [card] = selectors.product_page(query=CatalogQuery(), pricing=ANYONE).object_list

    assert (card.price.unit_points, card.price.on_sale, card.countdown_to) == (1000, False, None)


def test_card_flags_low_stock_sold_out_tier_exclusive_and_upcoming():
    now = timezone.now()
    make_product(name_en="Few", stock=2, low_stock_threshold=3)
    make_product(name_en="None", stock=0)
    make_product(name_en="Gold only", min_tier_rank=2)
    make_product(
        name_en="Soon", flash_sale=True, sale_starts_at=now + timedelta(hours=1), sale_ends_at=now + timedelta(hours=3)
    )

    cards = {card.name: card for card in selectors.product_page(query=CatalogQuery(), pricing=ANYONE).object_list}

    assert (cards["Few"].few_left, cards["Few"].sold_out) == (True, False)
    assert (cards["None"].few_left, cards["None"].sold_out) == (False, True)
    assert (cards["Gold only"].tier_label, cards["Gold only"].tier_allowed) == ("Gold+", False)
    assert cards["Soon"].upcoming is True
    assert cards["Soon"].countdown_to == now + timedelta(hours=1)


def test_the_catalog_hides_off_shelf_ended_and_hidden_category_items():
    now = timezone.now()
    hidden = make_category(active=False)
    make_product(name_en="Shown")
    make_product(name_en="Off shelf", on_shelf=False)
    make_product(name_en="Ended", sale_starts_at=now - timedelta(days=2), sale_ends_at=now - timedelta(days=1))
    make_product(hidden, name_en="Hidden category")

    page = selectors.product_page(query=CatalogQuery(), pricing=ANYONE)

    assert _names(page) == ["Shown"]


def test_search_matches_chinese_and_english_names_ignoring_case():
    make_product(name_en="Wireless Earbuds", name_zh="无线耳机")
    make_product(name_en="Tea set", name_zh="茶具")

    assert _names(selectors.product_page(query=CatalogQuery(search="earbuds"), pricing=ANYONE)) == ["Wireless Earbuds"]
    assert _names(selectors.product_page(query=CatalogQuery(search="茶"), pricing=ANYONE)) == ["Tea set"]


def test_category_filter_includes_sub_categories_and_kind_filter_narrows():
    parent = make_category(slug="home")
    child = make_category(slug="kitchen", parent=parent)
    other = make_category(slug="books")
    make_product(parent, name_en="Lamp")
    make_product(child, name_en="Kettle", kind=ProductKind.VIRTUAL)
    make_product(other, name_en="Novel")

    in_home = selectors.product_page(query=CatalogQuery(category="home", sort=SortOrder.NEWEST), pricing=ANYONE)
    virtual = selectors.product_page(query=CatalogQuery(category="home", kind=ProductKind.VIRTUAL), pricing=ANYONE)

    assert _names(in_home) == ["Kettle", "Lamp"]
    assert _names(virtual) == ["Kettle"]


def test_points_range_affordability_and_points_sort_use_the_members_price():
    member = make_gold_member()  # 85% prices, 5,000 points
    pricing = selectors.member_pricing(user_id=member.pk)
    make_product(name_en="A", points_price=1000)  # 850 for Gold
    make_product(name_en="B", points_price=5800)  # 4,930: affordable
    make_product(name_en="C", points_price=6000)  # 5,100: not

    cheap_first = selectors.product_page(query=CatalogQuery(sort=SortOrder.POINTS_ASC), pricing=pricing)
    dear_first = selectors.product_page(query=CatalogQuery(sort=SortOrder.POINTS_DESC), pricing=pricing)
    ranged = selectors.product_page(query=CatalogQuery(min_points=850, max_points=4930), pricing=pricing)
    affordable = selectors.product_page(query=CatalogQuery(affordable=True), pricing=pricing)

    assert _names(cheap_first) == ["A", "B", "C"]
    assert _names(dear_first) == ["C", "B", "A"]
    assert sorted(_names(ranged)) == ["A", "B"]
    assert sorted(_names(affordable)) == ["A", "B"]


def test_nothing_is_affordable_with_no_points():
    member = make_member()
    make_product(points_price=1)

    page = selectors.product_page(
        query=CatalogQuery(affordable=True), pricing=selectors.member_pricing(user_id=member.pk)
    )

    assert page.paginator.count == 0


def test_popular_sorts_by_redemptions_and_newest_by_creation():
    now = timezone.now()
    make_product(name_en="Old best seller", sold=40, created_at=now - timedelta(days=9))
    make_product(name_en="New", sold=1, created_at=now)

    assert _names(selectors.product_page(query=CatalogQuery(sort=SortOrder.POPULAR), pricing=ANYONE)) == [
        "Old best seller",
        "New",
    ]
    assert _names(selectors.product_page(query=CatalogQuery(sort=SortOrder.NEWEST), pricing=ANYONE)) == [
        "New",
        "Old best seller",
    ]


def test_pages_hold_24_cards():
    category = make_category()
    for _ in range(30):
        make_product(category)

    first = selectors.product_page(query=CatalogQuery(), pricing=ANYONE)
    second = selectors.product_page(query=CatalogQuery(), pricing=ANYONE, page=2)

    assert (len(first.object_list), len(second.object_list), first.paginator.num_pages) == (24, 6, 2)


def test_member_pricing_for_anonymous_visitors_is_the_list_price():
    assert MemberPricing(user_id=None, price_percent=100, tier_rank=0, tier_name="", balance=None) == ANYONE
    assert ANYONE.signed_in is False


def test_mall_home_for_anonymous_visitors_has_new_popular_and_flash_but_nothing_personal():
    now = timezone.now()
    make_product(name_en="Best seller", sold=9, created_at=now - timedelta(days=3))
    make_product(name_en="Fresh", created_at=now)
    make_product(
        name_en="Flash now",
        flash_sale=True,
        sale_starts_at=now - timedelta(hours=1),
        sale_ends_at=now + timedelta(hours=1),
    )
    make_product(
        name_en="Flash later",
        flash_sale=True,
        sale_starts_at=now + timedelta(hours=1),
        sale_ends_at=now + timedelta(hours=2),
    )

    home = selectors.mall_home(pricing=ANYONE)

    assert _names(home.popular)[0] == "Best seller"
    assert _names(home.new_arrivals)[0] == "Flash later"  # created last
    assert _names(home.flash_sales) == ["Flash now", "Flash later"]
    assert [(card.name, card.upcoming) for card in home.flash_banners] == [("Flash now", False), ("Flash later", True)]
    assert (home.recommended, home.recently_viewed) == ([], [])


def test_mall_home_banners_show_the_running_points_campaign_only():
    now = timezone.now()
    Campaign.objects.create(
        name="Double week",
        multiplier=Decimal("2"),
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=2),
        sources=["review", "lottery"],  # both exist: the lottery serves its page
    )
    Campaign.objects.create(
        name="Next month",
        multiplier=Decimal("3"),
        starts_at=now + timedelta(days=20),
        ends_at=now + timedelta(days=25),
        sources=[],
    )

    home = selectors.mall_home(pricing=ANYONE)

    assert [(c.name, c.multiplier, c.sources) for c in home.campaigns] == [
        ("Double week", Decimal("2"), ["Review", "Prize draw"])
    ]


def test_recently_viewed_lists_the_members_views_newest_first():
    member = make_member()
    first, second, off = make_product(name_en="First"), make_product(name_en="Second"), make_product(name_en="Gone")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.product_view_record(member_id=member.pk, product_id=first.pk)
        services.product_view_record(member_id=member.pk, product_id=off.pk)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        services.product_view_record(member_id=member.pk, product_id=second.pk)
    with time_machine.travel(start + timedelta(minutes=9), tick=False):
        services.product_view_record(member_id=member.pk, product_id=first.pk)
    off.on_shelf = False
    off.save()

    viewed = selectors.recently_viewed(user_id=member.pk, pricing=ANYONE)

    assert _names(viewed) == ["First", "Second"]


def test_recommendations_come_from_viewed_and_redeemed_categories_without_what_was_viewed():
    member = make_member(points=5000)
    gadgets, books, food = make_category(), make_category(), make_category()
    viewed = make_product(gadgets, name_en="Viewed gadget")
    make_product(gadgets, name_en="Other gadget", sold=5)
    redeemed = make_product(books, name_en="Redeemed book")
    make_product(books, name_en="Other book", sold=1)
    make_product(food, name_en="Unrelated")
    services.product_view_record(member_id=member.pk, product_id=viewed.pk)
    redeem(member, redeemed)

    recommended = selectors.recommended_for(user_id=member.pk, pricing=ANYONE)

    assert _names(recommended) == ["Other gadget", "Other book", "Redeemed book"]


def test_product_detail_is_none_for_off_shelf_unknown_and_hidden_category_products():
    hidden = make_category(active=False)
    off = make_product(on_shelf=False)
    in_hidden = make_product(hidden)

    assert selectors.product_detail(product_id=off.pk, pricing=ANYONE) is None
    assert selectors.product_detail(product_id=in_hidden.pk, pricing=ANYONE) is None
    assert selectors.product_detail(product_id=987654, pricing=ANYONE) is None


def test_product_detail_has_images_limits_reviews_and_both_related_strips(media):
    category = make_category()
    product = make_product(category, per_order_limit=2, per_day_limit=1, lifetime_limit=3, min_tier_rank=2)
    add_image(product, sort=1)
    add_image(product, sort=0)
    sibling = make_product(category, name_en="Sibling", sold=3)
    elsewhere = make_product(name_en="Also redeemed")
    never = make_product(name_en="Never together")
    buyer = make_gold_member(points=10_000)
    first = delivered_order(buyer, product)
    redeem(buyer, elsewhere)
    stranger = make_member(points=2000)
    redeem(stranger, never)
    services.review_post(order_id=first.pk, member_id=buyer.pk, rating=4, text="Good")

    detail = selectors.product_detail(product_id=product.pk, pricing=ANYONE)

    assert len(detail.images) == 2
    assert all("-detail." in image.detail_url for image in detail.images)
    assert (detail.per_order_limit, detail.per_day_limit, detail.lifetime_limit) == (2, 1, 3)
    assert detail.tier_required == "Gold"
    assert (detail.rating_average, detail.rating_count, detail.rating_stars) == (Decimal("4.0"), 1, 4)
    assert [(r.rating, r.text) for r in detail.reviews] == [(4, "Good")]
    assert _names(detail.same_category) == ["Sibling"]
    assert _names(detail.co_redeemed) == ["Also redeemed"]
    assert detail.redeemable is False  # anonymous pricing: tier rank 0 < Gold
    assert sibling.sold == 3


def test_product_detail_queries_are_bounded_by_the_strips_not_the_catalogue_size(media):
    category = make_category()
    product = make_product(category)

    def look() -> None:
        selectors.product_detail(product_id=product.pk, pricing=ANYONE)

    few = _queries(look)
    for _ in range(15):
        add_image(make_product(category))
    many = _queries(look)

    assert few == many == 7


def test_order_detail_is_only_for_its_member_and_carries_code_and_history():
    member, other = make_member(points=3000), make_member()
    product = make_product(kind=ProductKind.VIRTUAL, stock=0)
    add_codes(product, 2)
    order = redeem(member, product)

    mine = selectors.order_detail(member_id=member.pk, order_id=order.pk)

    assert selectors.order_detail(member_id=other.pk, order_id=order.pk) is None
    assert mine.code.code == f"CODE-{product.pk}-000"
    assert [(e.status, e.by_member) for e in mine.events] == [(OrderStatus.COMPLETED, False)]
    assert (mine.can_cancel, mine.can_review, mine.progress[-1].done) == (False, True, True)


def test_order_tabs_count_the_members_orders_by_group():
    member = make_member(points=5000)
    make_member(points=5000)
    delivered_order(member)
    redeem(member, make_product())
    cancelled = redeem(member, make_product())
    services.order_cancel(order_id=cancelled.pk, member_id=member.pk)

    counts = selectors.order_tab_counts(member_id=member.pk)

    assert counts == {
        "all": 3,
        "to_pay": 0,
        "to_ship": 1,
        "to_receive": 1,  # delivered, receipt not confirmed yet
        "to_review": 0,
        "done": 0,
        "refund": 1,
    }
    assert [row.status for row in selectors.order_page(member_id=member.pk, tab="refund")] == [OrderStatus.CANCELLED]


def test_give_points_comes_from_the_ledger():
    member = make_member()
    give_points(member, 120)

    assert selectors.member_pricing(user_id=member.pk).balance == 120
