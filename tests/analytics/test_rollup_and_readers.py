"""The roll-up job and command, the dashboard's readers and the demo history."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command

from pointsmall.analytics import jobs, selectors
from pointsmall.analytics.demo import seed_traffic
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.kernel.clock import business_date
from tests.catalog.factories import make_product


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


def test_the_demo_history_is_plausible_and_the_same_every_time(db):
    products = [make_product() for _ in range(3)]

    written = seed_traffic(days=30)
    first = sorted(PageDaily.objects.values_list("day", "page_type", "views", "visitors"))
    seed_traffic(days=30)

    assert written == 30 * 13 + 30 * 3
    assert sorted(PageDaily.objects.values_list("day", "page_type", "views", "visitors")) == first
    assert all(0 < visitors <= views for _, _, views, visitors in first)
    assert ProductDaily.objects.filter(product__in=products).count() == 90
    assert max(day for day, *_ in first) == business_date() - timedelta(days=1)


def test_the_command_refuses_a_day_that_has_not_begun(counters, db):
    tomorrow = business_date() + timedelta(days=1)

    with pytest.raises(CommandError, match="has not begun"):
        call_command("analytics_rollup", "--day", tomorrow.isoformat())
    assert not PageDaily.objects.filter(day=tomorrow).exists()
