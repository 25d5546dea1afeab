"""The lottery demo: a running wheel with pity, a finished 9-grid with its seed revealed and its
winners; seeding twice changes nothing."""

from __future__ import annotations

import io

import pytest

from lottery import demo
from lottery.models import Draw, DrawerState, LotteryCampaign, LotteryPrize, PrizeRelease
from lottery.selectors import reports
from points.models import Account
from tests.catalog.factories import add_codes, make_member, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def mall(db) -> dict[str, int]:
    make_product(name_en=demo.PHYSICAL_ITEM, stock=10)
    coupon = make_product(name_en=demo.COUPON_ITEM, kind="coupon", stock=0)
    add_codes(coupon, 10)
    members = {f"m{i}@example.com": make_member(points=1000) for i in range(4)}
    return {email: member.pk for email, member in members.items()}


def _snapshot() -> tuple:
    return (
        list(LotteryCampaign.objects.order_by("pk").values_list()),
        list(LotteryPrize.objects.order_by("pk").values_list()),
        list(Draw.objects.order_by("pk").values_list()),
        list(DrawerState.objects.order_by("pk").values_list()),
        list(PrizeRelease.objects.order_by("pk").values_list()),
        list(Account.objects.order_by("pk").values_list("pk", "balance")),
    )


def test_the_demo_has_a_running_wheel_and_a_finished_grid_with_winners(mall):
    demo.seed_lottery(io.StringIO(), user_ids=mall)

    wheel = LotteryCampaign.objects.get(name=demo.WHEEL_NAME)
    grid = LotteryCampaign.objects.get(name=demo.GRID_NAME)
    assert (wheel.style, wheel.pity_after, wheel.cost_points) == ("wheel", 8, 50)
    assert wheel.published_at is not None and wheel.revealed_at is None
    assert sum(wheel.prizes.values_list("weight_bp", flat=True)) == 10_000
    assert list(wheel.prizes.order_by("position").values_list("kind", "weight_bp", "quantity", "daily_cap")) == [
        ("points", 100, 20, None),
        ("points", 1500, 5000, None),
        ("code", 200, 10, 3),
        ("product", 50, 5, None),
        ("none", 8150, None, None),
    ]
    assert grid.style == "grid"
    assert grid.revealed_at is not None
    draws = list(grid.draws.all())
    assert len(draws) == 24
    assert all(grid.starts_at <= d.created_at < grid.ends_at for d in draws)
    # Pity after 3: each member's 6 draws hold at least one win.
    assert {d.member_id for d in draws if d.outcome == "won"} == set(mall.values())
    report = reports.campaign_report(campaign_id=grid.pk)
    assert (report.draws, report.drawers) == (24, 4)
    # Silver members' monthly free draws come first; the rest cost 20 points each.
    assert report.free_draws >= 4
    assert report.paid_draws + report.free_draws == 24
    assert report.points_collected == 20 * report.paid_draws


def test_seeding_twice_changes_nothing(mall):
    demo.seed_lottery(io.StringIO(), user_ids=mall)
    before = _snapshot()

    out = io.StringIO()
    demo.seed_lottery(out, user_ids=mall)

    assert _snapshot() == before
    assert "(0 new draws)" in out.getvalue()
