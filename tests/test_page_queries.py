"""How many SQL queries each member page costs, at two sizes of what it lists (issue #15, P3).

Every page's count must not grow with the catalogue or the member's history; the catalog and
home pages, once their shared parts are cached (docs/decisions/0048), stay within 5. The first
request of each size fills the cache; the second is what members get most of the time.

The cache invalidation tests show that a write is visible on the very next page: a price change,
a sale price, a product sold out, a product taken off the shelf, and each language cached apart.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import SalePrice
from catalog.services import shelf
from tests.catalog.factories import (
    add_address,
    give_points,
    make_category,
    make_gold_member,
    make_member,
    make_product,
    redeem,
)
from tests.lottery.core_helpers import make_campaign
from tests.tasks.task_helpers import make_task

pytestmark = pytest.mark.django_db

# The cached_db session engine reads a session from Redis; the plain db engine reads it with SQL.
SESSION = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
LIMIT = 5  # issue #15, P3: the catalog and home pages, whatever the page size


def _queries(client, url: str, data: dict | None = None) -> int:
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data or {})
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def _cold_and_warm(client, url: str, data: dict | None = None) -> tuple[int, int]:
    from django.core.cache import cache

    cache.clear()
    client.force_login(client._member)  # the session lived in the cache just emptied
    return _queries(client, url, data), _queries(client, url, data)


@pytest.fixture
def shopper(client):
    member = make_gold_member(points=2_000)
    client.force_login(member)
    client._member = member
    return client


def _stock_shelves(count: int) -> None:
    category = make_category()
    now = timezone.now()
    for n in range(count):
        product = make_product(category=category, sold=n, flash_sale=n % 5 == 0)
        if n % 3 == 0:
            SalePrice.objects.create(
                product=product, points_price=400, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1)
            )


@pytest.mark.parametrize(
    ("url_name", "data"),
    [("home", None), ("product_list", None), ("product_list", {"sort": "points_asc", "affordable": "on"})],
)
def test_catalog_and_home_cost_the_same_few_queries_for_12_and_48_products(shopper, url_name, data):
    url = reverse(url_name)
    _stock_shelves(12)
    cold_12, warm_12 = _cold_and_warm(shopper, url, data)
    _stock_shelves(36)
    cold_48, warm_48 = _cold_and_warm(shopper, url, data)

    assert cold_12 == cold_48
    assert warm_12 == warm_48
    # the user, the member's balance and tier, the unread count, the cards' live stock
    assert warm_48 == 4 + SESSION
    assert warm_48 <= LIMIT


def test_product_page_costs_the_same_whatever_the_catalogue(shopper):
    _stock_shelves(12)
    product = make_product(sold=100)
    url = reverse("product_detail", args=[product.pk])
    cold_small, warm_small = _cold_and_warm(shopper, url)
    _stock_shelves(36)
    cold_big, warm_big = _cold_and_warm(shopper, url)

    assert (cold_small, warm_small) == (cold_big, warm_big)
    # user, status, live stock, the addresses (a physical item), the view record (3), unread count
    assert warm_big == 8 + SESSION


def test_my_points_costs_the_same_for_5_and_50_history_rows(shopper):
    member = shopper._member
    url = reverse("my_points")
    for _ in range(3):  # the gold member already has 2 rows
        give_points(member, 10)
    small = _cold_and_warm(shopper, url)
    for _ in range(45):
        give_points(member, 10)
    big = _cold_and_warm(shopper, url)

    assert small == big


def test_orders_page_costs_the_same_for_5_and_30_orders(shopper):
    member = shopper._member
    product = make_product(points_price=10, stock=100, per_order_limit=5)
    url = reverse("order_list")
    address = add_address(member)
    for _ in range(5):
        redeem(member, product, address_id=address)
    small = _cold_and_warm(shopper, url)
    for _ in range(25):
        redeem(member, product, address_id=address)
    big = _cold_and_warm(shopper, url)

    assert small == big


def test_checkin_page_costs_the_same_whatever_the_history(shopper):
    from tasks import services as tasks_services

    member = shopper._member
    url = reverse("checkin")
    tasks_services.checkin_rules_seed()
    small = _cold_and_warm(shopper, url)
    tasks_services.checkin_record(user_id=member.pk)
    big = _cold_and_warm(shopper, url)

    assert small == big


def test_tasks_page_costs_the_same_for_2_and_12_tasks(shopper):
    url = reverse("task_list")
    for n in range(2):
        make_task(title=f"任务{n}", title_en=f"Task {n}", completion="visit", visit_url="/mall/", kind="daily")
    small = _cold_and_warm(shopper, url)
    for n in range(2, 12):
        make_task(title=f"任务{n}", title_en=f"Task {n}", completion="visit", visit_url="/mall/", kind="daily")
    big = _cold_and_warm(shopper, url)

    assert small == big


def test_lottery_page_costs_the_same_for_1_and_6_campaigns(shopper):
    url = reverse("lottery")
    now = timezone.now()
    make_campaign(now=now)
    small = _cold_and_warm(shopper, url)
    for _ in range(5):
        make_campaign(now=now)
    big = _cold_and_warm(shopper, url)

    assert small == big


# --- The page changes right after the write ----------------------------------------------------


def _card_points(client, product) -> list[int]:
    response = client.get(reverse("product_list"))
    return [card.price.unit_points for card in response.context["page"].object_list if card.id == product.pk]


def test_a_price_change_shows_on_the_next_catalog_page(client):
    member = make_member(points=100)
    client.force_login(member)
    product = make_product(points_price=500)
    assert _card_points(client, product) == [500]

    product.points_price = 300
    product.save()  # what the admin's form does

    assert _card_points(client, product) == [300]
    assert 'data-testid="card-points">300<' in client.get(reverse("product_list")).content.decode()


def test_a_sale_price_shows_on_the_next_catalog_page(client):
    product = make_product(points_price=500)
    assert _card_points(client, product) == [500]
    now = timezone.now()

    SalePrice.objects.create(
        product=product, points_price=350, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=1)
    )

    assert _card_points(client, product) == [350]


def test_a_sold_out_item_shows_sold_out_on_the_next_page_without_any_retiring(client):
    member = make_member(points=5_000)
    client.force_login(member)
    product = make_product(points_price=10, stock=1)
    page = client.get(reverse("product_list")).content.decode()
    assert "is-sold-out" not in page

    redeem(member, product)  # the stock module's guarded UPDATE: no post_save, read live instead

    page = client.get(reverse("product_list")).content.decode()
    assert "is-sold-out" in page
    detail = client.get(reverse("product_detail", args=[product.pk]))
    assert detail.context["detail"].card.sold_out
    assert not detail.context["detail"].redeemable
    home = client.get(reverse("home"))
    assert all(card.sold_out for card in home.context["home"].new_arrivals if card.id == product.pk)


@pytest.mark.parametrize("how", ["save", "unshelve"])
def test_a_hidden_product_leaves_every_page_at_once(client, how):
    product = make_product(name_en="Vanishing kettle")
    assert "Vanishing kettle" in client.get(reverse("product_list")).content.decode()
    assert "Vanishing kettle" in client.get(reverse("home")).content.decode()
    assert client.get(reverse("product_detail", args=[product.pk])).status_code == 200

    if how == "save":
        product.on_shelf = False
        product.save()
    else:
        assert shelf.products_unshelve(product_ids=[product.pk]) == 1

    assert "Vanishing kettle" not in client.get(reverse("product_list")).content.decode()
    assert "Vanishing kettle" not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("product_detail", args=[product.pk])).status_code == 404


def test_each_language_is_cached_apart(client):
    make_product(name_en="Tea set", name_zh="茶具")

    english = client.get(reverse("product_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(reverse("product_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english_again = client.get(reverse("product_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Tea set" in english and "茶具" not in english
    assert "茶具" in chinese and "Tea set" not in chinese
    assert "Tea set" in english_again


def test_members_of_different_tiers_see_their_own_prices_from_the_cache(client):
    product = make_product(points_price=1000)
    gold = make_gold_member()
    plain = make_member(points=10)

    client.force_login(gold)
    gold_points = _card_points(client, product)
    client.force_login(plain)
    plain_points = _card_points(client, product)

    assert gold_points == [850]
    assert plain_points == [1000]


def test_recently_viewed_follows_the_members_own_views_and_never_another_members(client):
    product = make_product(name_en="Seen once")
    viewer, other = make_member(), make_member()
    client.force_login(viewer)
    assert client.get(reverse("home")).context["home"].recently_viewed == []

    client.get(reverse("product_detail", args=[product.pk]))

    assert [c.id for c in client.get(reverse("home")).context["home"].recently_viewed] == [product.pk]
    client.force_login(other)
    assert client.get(reverse("home")).context["home"].recently_viewed == []


def test_the_cached_calendar_shows_todays_check_in_at_once(client):
    from tasks import services as tasks_services
    from tasks.selectors import checkin as checkin_selectors

    member = make_member()
    client.force_login(member)
    tasks_services.checkin_rules_seed()
    today = checkin_selectors.checkin_page(user_id=member.pk).days
    today = next(cell.day for cell in today if cell.state == "today")
    cell = f'data-testid="checkin-day-{today.isoformat()}" data-state="'
    assert cell + 'today"' in client.get(reverse("checkin")).content.decode()

    tasks_services.checkin_record(user_id=member.pk)

    assert cell + 'checked"' in client.get(reverse("checkin")).content.decode()


# --- Exact counts of the member pages (issue #15, P8) -----------------------------------------


def test_member_pages_cost_exactly_these_queries_warm(shopper):
    """user + the member's status (balance and tier, shared with the header) + the unread count,
    and then each page's own reads."""
    from tasks import services as tasks_services

    tasks_services.checkin_rules_seed()
    make_task(title="任务", title_en="Task", completion="visit", visit_url="/mall/", kind="daily")
    member = shopper._member
    redeem(member, make_product(points_price=10), address_id=add_address(member))
    expected = {
        # history count + page, the account's balances, expiring lots, next pending lot
        "my_points": 3 + 5,
        # tab counts, count + page of orders
        "order_list": 3 + 3,
        # the cycle's check-ins, the streak, the boosts, the reminder, the make-up cards
        "checkin": 3 + 5,
        # the tasks, the member's progress
        "task_list": 3 + 2,
    }
    for name, queries in expected.items():
        _, warm = _cold_and_warm(shopper, reverse(name))
        assert warm == queries + SESSION, name


def test_the_check_in_page_reads_its_rules_once_for_everyone(client):
    from tasks import services as tasks_services

    tasks_services.checkin_rules_seed()
    first, second = make_member(), make_member()
    client.force_login(first)
    url = reverse("checkin")
    client.get(url)  # fills the rules' cache
    client.force_login(second)
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    tables = ("tasks_checkinpolicy", "tasks_streakreward", "tasks_cyclebonus", "points_earningrule")
    assert not [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in tables)]


def _tomorrow_points(client) -> int:
    return client.get(reverse("checkin")).context["page"].tomorrow.points


@pytest.mark.parametrize("change", ["streak_reward", "cycle_bonus", "earning_rule", "policy", "delete_reward"])
def test_a_rule_saved_in_the_admin_shows_on_the_next_check_in_page(client, change):
    from points.models import EarningRule
    from tasks import services as tasks_services
    from tasks.models.checkin import CheckinPolicy, CycleBonus, StreakReward

    tasks_services.checkin_rules_seed()
    member = make_member()
    client.force_login(member)
    before = client.get(reverse("checkin")).context["page"]

    if change == "streak_reward":
        # The reward of the streak day the page announces for tomorrow; update_or_create saves
        # like the admin.
        StreakReward.objects.update_or_create(day=before.tomorrow.streak, defaults={"points": 777})
        after = client.get(reverse("checkin")).context["page"]
        assert after.tomorrow != before.tomorrow
    elif change == "cycle_bonus":
        bonus = CycleBonus.objects.order_by("days").first()
        bonus.points += 7
        bonus.save()
        after = client.get(reverse("checkin")).context["page"]
        assert [b.points for b in after.bonuses] == [b.points + 7 * (i == 0) for i, b in enumerate(before.bonuses)]
    elif change == "earning_rule":
        rule = EarningRule.objects.get(source="checkin")
        rule.points += 3
        rule.save()
        after = client.get(reverse("checkin")).context["page"]
        assert after.base == before.base + 3
    elif change == "policy":
        policy = CheckinPolicy.load()
        policy.makeup_price += 5
        policy.save()
        after = client.get(reverse("checkin")).context["page"]
        assert after.makeup_price == before.makeup_price + 5
    else:
        CycleBonus.objects.order_by("days").first().delete()
        after = client.get(reverse("checkin")).context["page"]
        assert len(after.bonuses) == len(before.bonuses) - 1


def test_the_tasks_page_follows_the_members_own_tier(client):
    gold, plain = make_gold_member(), make_member(points=10)
    make_task(title="金卡任务", title_en="Gold only task", completion="visit", visit_url="/mall/", tier_codes=["gold"])

    client.force_login(gold)
    gold_page = client.get(reverse("task_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.force_login(plain)
    plain_page = client.get(reverse("task_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Gold only task" in gold_page
    assert "Gold only task" not in plain_page


def test_my_points_shows_the_members_own_balance_and_tier(client):
    gold, plain = make_gold_member(points=2_000), make_member(points=10)
    client.force_login(gold)
    gold_summary = client.get(reverse("my_points")).context["summary"]
    client.force_login(plain)
    plain_summary = client.get(reverse("my_points")).context["summary"]

    assert gold_summary.tier_code == "gold"
    assert plain_summary.tier_code != "gold"
    assert plain_summary.available == 10
    assert gold_summary.available != plain_summary.available


# --- The catalog's page size (issue #15, P3: 48 cards) ----------------------------------------


@pytest.mark.parametrize(
    ("asked", "shown"),
    [(None, 24), ("24", 24), ("48", 48), ("12", 24), ("1000000", 24), ("-48", 24), ("abc", 24), ("", 24)],
)
def test_the_catalog_shows_24_or_48_cards_and_nothing_else(shopper, asked, shown):
    _stock_shelves(50)
    data = {} if asked is None else {"size": asked}
    response = shopper.get(reverse("product_list"), data)

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == shown
    assert response.context["per_page"] == shown
    next_link = "size=48&amp;page=2" if shown == 48 else "?page=2"
    assert next_link in response.content.decode()


def test_48_cards_cost_the_same_queries_as_24(shopper):
    _stock_shelves(60)
    url = reverse("product_list")
    at_24 = _cold_and_warm(shopper, url)
    at_48 = _cold_and_warm(shopper, url, {"size": "48"})

    assert at_24 == at_48
    assert at_48[1] == 4 + SESSION
