"""The roll-up job and command, the dashboard's readers and the demo history."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from pointsmall.analytics import jobs, selectors
from pointsmall.analytics.demo import seed_traffic
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.dashboard import services as dashboard_services
from pointsmall.dashboard.selectors import funnel_rows
from pointsmall.kernel.clock import business_date
from tests.catalog.factories import make_member, make_product, redeem


def test_the_job_rolls_up_today_and_yesterday(counters, browser):
    browser.get("/")
    browser.get("/")

    assert jobs.rollup() == {business_date().isoformat(): 2, (business_date() - timedelta(days=1)).isoformat(): 0}
    assert jobs.rollup() == {business_date().isoformat(): 2, (business_date() - timedelta(days=1)).isoformat(): 0}
    assert PageDaily.objects.get(day=business_date(), page_type="home").views == 2


def test_the_command_rolls_up_and_says_what_it_wrote(counters, browser):
    browser.get("/mall/products/")
    out = io.StringIO()

    call_command("analytics_rollup", "--day", business_date().isoformat(), stdout=out)

    assert f"{business_date()}: 1 views over 1 page types, 0 products" in out.getvalue()
    assert PageDaily.objects.get(page_type="catalog").visitors == 1


def test_the_command_refuses_a_day_whose_counters_expired(counters, db):
    PageDaily.objects.create(day=date(2026, 1, 1), page_type="home", views=9, visitors=4)

    with pytest.raises(CommandError, match="expired"):
        call_command("analytics_rollup", "--day", "2026-01-01")
    with pytest.raises(CommandError, match="--days"):
        call_command("analytics_rollup", "--days", "9")
    assert PageDaily.objects.get(day=date(2026, 1, 1)).views == 9


def test_traffic_by_day_lists_every_day_with_zeros_between(db):
    PageDaily.objects.create(
        day=date(2026, 3, 1), page_type="home", views=10, visitors=6, timed_views=4, time_on_page_ms=10_000
    )
    PageDaily.objects.create(day=date(2026, 3, 1), page_type="catalog", views=5, visitors=5)
    PageDaily.objects.create(day=date(2026, 3, 3), page_type="home", views=7, visitors=3)

    days = selectors.traffic_by_day(start=date(2026, 3, 1), end=date(2026, 3, 3))

    assert [(d.day.day, d.views, d.visitors) for d in days] == [(1, 15, 11), (2, 0, 0), (3, 7, 3)]
    home = next(p for p in days[0].pages if p.page_type == "home")
    assert (home.label, home.average_ms) == ("Home", 2500)
    only_home = selectors.traffic_by_day(start=date(2026, 3, 1), end=date(2026, 3, 1), page_type="home")
    assert only_home[0].views == 10


def test_traffic_by_page_type_totals_the_period(db):
    PageDaily.objects.create(day=date(2026, 3, 1), page_type="home", views=10, visitors=6)
    PageDaily.objects.create(
        day=date(2026, 3, 2), page_type="home", views=4, visitors=2, timed_views=2, time_on_page_ms=6000
    )
    PageDaily.objects.create(day=date(2026, 3, 2), page_type="lottery", views=20, visitors=9)

    totals = selectors.traffic_by_page_type(start=date(2026, 3, 1), end=date(2026, 3, 2))

    assert [(t.page_type, t.views, t.visitors, t.average_ms) for t in totals] == [
        ("lottery", 20, 9, None),
        ("home", 14, 8, 3000),
    ]


def test_product_funnel_top_ranks_by_views_with_the_readers_name(db):
    quiet, popular = make_product(name_en="Mug"), make_product(name_en="Umbrella")
    ProductDaily.objects.create(day=date(2026, 3, 1), product=quiet, views=5, visitors=4, redeem_starts=1)
    ProductDaily.objects.create(day=date(2026, 3, 1), product=popular, views=30, visitors=20, redeem_starts=5)
    ProductDaily.objects.create(day=date(2026, 3, 2), product=popular, views=10, visitors=5, redeem_starts=0)
    ProductDaily.objects.create(day=date(2026, 2, 1), product=quiet, views=999, visitors=999, redeem_starts=0)

    top = selectors.product_funnel_top(start=date(2026, 3, 1), end=date(2026, 3, 31))

    assert [(p.name, p.views, p.visitors, p.redeem_starts, p.start_rate_percent) for p in top] == [
        ("Umbrella", 40, 25, 5, 20),
        ("Mug", 5, 4, 1, 25),
    ]
    assert len(selectors.product_funnel_top(start=date(2026, 3, 1), end=date(2026, 3, 31), limit=1)) == 1


def _traffic_rows():
    return sorted(PageDaily.objects.values_list("day", "page_type", "views", "visitors", "time_on_page_ms")), sorted(
        ProductDaily.objects.values_list("day", "product_id", "views", "visitors", "redeem_starts")
    )


def test_the_demo_history_is_plausible_and_the_same_every_time(db):
    products = [make_product() for _ in range(3)]
    now = timezone.now()

    written = seed_traffic(days=30, now=now)
    first = _traffic_rows()
    seed_traffic(days=30, now=now)

    pages, _products = first
    assert written == 31 * 13 + 31 * 3
    assert _traffic_rows() == first
    assert all(visitors <= views for _, _, views, visitors, _ms in pages)
    assert ProductDaily.objects.filter(product__in=products).count() == 93
    # Yesterday and today so far: the history reaches the dashboard's last day.
    assert max(day for day, *_ in pages) == business_date(now)
    assert PageDaily.objects.get(day=business_date(now) - timedelta(days=1), page_type="home").views > 0
    # The product and confirmation pages are the sums of the product rows.
    day = business_date(now) - timedelta(days=1)
    assert PageDaily.objects.get(day=day, page_type="product").views == sum(
        ProductDaily.objects.filter(day=day).values_list("views", flat=True)
    )
    assert PageDaily.objects.get(day=day, page_type="redeem").views == sum(
        ProductDaily.objects.filter(day=day).values_list("redeem_starts", flat=True)
    )
    ranking = [row.page_type for row in selectors.traffic_by_page_type(start=day - timedelta(days=29), end=day)]
    assert ranking[:3] == ["home", "catalog", "product"]


def test_the_demo_funnel_follows_the_orders(db):
    redeemed, ignored = make_product(), make_product()
    for _ in range(2):
        redeem(make_member(points=1000), redeemed)
    today = business_date()

    seed_traffic(days=90)
    dashboard_services.dashboard_rollup(days=1)  # the funnel's redemptions

    rows = {row.product_id: row for row in funnel_rows(today - timedelta(days=29), today)}
    top = rows[redeemed.pk]
    assert top.redemptions == 2
    assert 5 <= top.start_rate <= 15
    assert 20 <= top.redeem_rate <= 60
    # Each redemption's start falls on its day.
    assert ProductDaily.objects.get(day=today, product=redeemed).redeem_starts >= 2
    # A product nobody redeemed was still looked at, and someone gave up on it.
    assert rows[ignored.pk].redemptions == 0
    assert rows[ignored.pk].views > 0
    assert rows[ignored.pk].starts >= 1


def test_the_command_refuses_a_day_that_has_not_begun(counters, db):
    tomorrow = business_date() + timedelta(days=1)

    with pytest.raises(CommandError, match="has not begun"):
        call_command("analytics_rollup", "--day", tomorrow.isoformat())
    assert not PageDaily.objects.filter(day=tomorrow).exists()
