"""The tester's findings on the lottery (0027): the 10% floor only rises, catalog capacity and value
at publication and on the page, a start still ahead, a draw key tied to its campaign, where the
wheel stops without a "no prize" row, "not open now" first, no free-draw count in a free campaign."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog import services as catalog_services
from catalog.enums import ProductKind
from catalog.models import Category, Code, Product
from lottery import rules, selectors, services, views
from lottery.exceptions import CampaignInvalidError
from lottery.models import WIN_FLOOR_MIN_BP, DrawOutcome, LotteryPolicy, PrizeKind
from points.exceptions import IdempotencyConflictError
from points.models import PointValuePolicy
from tests.factories import StaffFactory
from tests.lottery.core_helpers import T0, draw, make_campaign, member_with, prize, snapshot

pytestmark = pytest.mark.django_db

BEFORE = T0 - timedelta(days=2)  # make_campaign's campaigns start at T0 - 1 day
NONE_ROW = {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 9000}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def numbers(monkeypatch):
    queue: list[int] = []
    monkeypatch.setattr(rules, "draw_number", lambda **kwargs: queue.pop(0))
    return queue


def _item(kind=ProductKind.PHYSICAL, *, stock=5, market_price="0", on_shelf=True) -> Product:
    category, _ = Category.objects.get_or_create(slug=f"prizes-{kind}", defaults={"name_zh": "奖品", "name_en": "P"})
    return Product.objects.create(
        name_zh="保温杯", name_en="Flask", category=category, kind=kind, points_price=500, stock=stock,
        per_order_limit=5, low_stock_threshold=0, market_price=Decimal(market_price), on_shelf=on_shelf,
    )  # fmt: skip


def _item_prize(product, *, quantity=3, market_value="0", weight_bp=1000) -> dict:
    kind = PrizeKind.PRODUCT if product.kind == ProductKind.PHYSICAL else PrizeKind.CODE
    return {"name": "保温杯", "name_en": "Flask", "kind": kind, "product": product, "weight_bp": weight_bp,
            "quantity": quantity, "market_value": Decimal(market_value)}  # fmt: skip


def _policy(**values) -> LotteryPolicy:
    """The policy row (pk=1, as the singleton reads it) with ``values`` saved."""
    policy = LotteryPolicy.load()
    policy.pk = 1
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def _refused(campaign, now=BEFORE) -> list[str]:
    with pytest.raises(CampaignInvalidError) as caught:
        services.lottery_campaign_publish(campaign_id=campaign.pk, now=now)
    campaign.refresh_from_db()
    assert campaign.published_at is None
    assert set(campaign.prizes.values_list("remaining", flat=True)) == {None}
    return caught.value.problems


# --- 1. The win floor never goes below 10% ----------------------------------------------------


def test_the_policy_floor_cannot_be_set_below_10_percent():
    policy = _policy()
    policy.win_floor_bp = 0
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "win_floor_bp" in caught.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        LotteryPolicy.objects.filter(pk=policy.pk).update(win_floor_bp=WIN_FLOOR_MIN_BP - 1)
    assert LotteryPolicy.load().win_floor_bp == 1000


def test_publication_uses_10_percent_whatever_the_policy_row_says(monkeypatch):
    lowered = LotteryPolicy(win_floor_bp=0)
    monkeypatch.setattr(LotteryPolicy, "load", classmethod(lambda cls: lowered))
    prizes = [
        {"name": "一百积分", "kind": PrizeKind.POINTS, "points": 100, "weight_bp": 1, "quantity": 1},
        {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 9999},
    ]
    assert _refused(make_campaign(prizes=prizes, publish=False)) == [
        "The chance of winning is 0.01%, below the 10.00% required."
    ]


# --- 2. Catalog capacity ----------------------------------------------------------------------


def test_a_product_prize_beyond_the_catalog_stock_is_refused():
    campaign = make_campaign(prizes=[_item_prize(_item(stock=2), quantity=3), NONE_ROW], publish=False)
    assert _refused(campaign) == ["Prize “保温杯”: the catalog can deliver only 2, fewer than the 3 published."]


def test_a_code_prize_beyond_the_free_codes_is_refused():
    product = _item(ProductKind.VIRTUAL, stock=0)
    catalog_services.codes_import(product_id=product.pk, text="A-1\nA-2", actor_id=StaffFactory().pk)
    campaign = make_campaign(prizes=[_item_prize(product, quantity=3), NONE_ROW], publish=False)
    assert _refused(campaign) == ["Prize “保温杯”: the catalog can deliver only 2, fewer than the 3 published."]


def test_an_item_off_the_shelf_has_no_capacity():
    product = _item(stock=10, on_shelf=False)
    assert catalog_services.prize_capacity(product_id=product.pk) == 0
    campaign = make_campaign(prizes=[_item_prize(product, quantity=1), NONE_ROW], publish=False)
    assert _refused(campaign) == ["Prize “保温杯”: the catalog can deliver only 0, fewer than the 1 published."]


def test_the_odds_table_shows_what_the_catalog_can_still_deliver():
    product = _item(stock=5)
    campaign = make_campaign(prizes=[_item_prize(product, quantity=3), NONE_ROW])
    row = selectors.campaign_page(campaign_id=campaign.pk).prizes[0]
    assert (row.remaining, row.left, row.unavailable) == (3, 3, False)
    Product.objects.filter(pk=product.pk).update(stock=0)  # the catalog sells out
    row = selectors.campaign_page(campaign_id=campaign.pk).prizes[0]
    assert (row.remaining, row.left, row.unavailable) == (3, 0, True)


def test_the_campaign_page_says_a_prize_is_temporarily_unavailable(client):
    product = _item(stock=5)
    campaign = make_campaign(prizes=[_item_prize(product, quantity=3), NONE_ROW])
    Product.objects.filter(pk=product.pk).update(stock=1)
    html = client.get(f"/lottery/{campaign.pk}/").content.decode()
    assert "1 / 3" in html and "temporarily unavailable" not in html
    Product.objects.filter(pk=product.pk).update(stock=0)
    html = client.get(f"/lottery/{campaign.pk}/").content.decode()
    assert "0 / 3" in html and "temporarily unavailable" in html


def test_pity_skips_a_prize_the_catalog_cannot_deliver(numbers):
    product = _item(ProductKind.VIRTUAL, stock=0)
    catalog_services.codes_import(product_id=product.pk, text="A-1\nA-2\nA-3", actor_id=StaffFactory().pk)
    prizes = [
        _item_prize(product, quantity=3, weight_bp=500),
        {"name": "十积分", "kind": PrizeKind.POINTS, "points": 10, "weight_bp": 500, "quantity": 10},
        {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 9000},
    ]
    campaign = make_campaign(prizes=prizes, pity_after=1, cost_points=0)
    member = member_with(1)
    Code.objects.filter(product=product).delete()  # the pool is used up elsewhere
    numbers.extend([9999, 0])  # no prize, then a pity draw whose number would pick the item
    assert draw(member, campaign).outcome == DrawOutcome.NO_PRIZE
    result = draw(member, campaign)
    assert (result.pity, result.outcome, result.prize_id) == (True, DrawOutcome.WON, prize(campaign, 1).pk)


def test_an_item_taken_off_the_shelf_after_publication_falls_through_and_places_no_order(numbers):
    product = _item(ProductKind.VIRTUAL, stock=3)
    catalog_services.codes_import(product_id=product.pk, text="B-1\nB-2\nB-3", actor_id=StaffFactory().pk)
    campaign = make_campaign(prizes=[_item_prize(product, quantity=3, weight_bp=1000), NONE_ROW], cost_points=0)
    member = member_with(1)
    Product.objects.filter(pk=product.pk).update(on_shelf=False)  # withdrawn from the catalog
    stock = Product.objects.get(pk=product.pk).stock
    numbers.append(0)  # the number picks the item
    result = draw(member, campaign)
    assert (result.outcome, result.prize_id) == (DrawOutcome.FELL_THROUGH, None)
    assert Code.objects.filter(product=product, order__isnull=False).count() == 0
    assert Product.objects.get(pk=product.pk).stock == stock


def test_an_item_in_an_inactive_category_has_no_capacity():
    product = _item(stock=10)
    Category.objects.filter(pk=product.category_id).update(active=False)
    assert catalog_services.prize_capacity(product_id=product.pk) == 0


# --- 3. Values: the catalog's market price, points at the policy's point value ------------------


def test_an_item_prize_valued_below_its_market_price_is_refused():
    product = _item(stock=5, market_price="199.00")
    campaign = make_campaign(prizes=[_item_prize(product, market_value="0"), NONE_ROW], publish=False)
    assert _refused(campaign) == [
        "Prize “保温杯”: its market value ¥0.00 is below the catalog item's market price ¥199.00."
    ]
    assert catalog_services.prize_market_value(product_id=product.pk) == Decimal("199.00")


def test_an_item_over_the_cap_is_refused_by_its_catalog_price():
    product = _item(stock=5, market_price="50000.01")
    campaign = make_campaign(prizes=[_item_prize(product, market_value="50000.01"), NONE_ROW], publish=False)
    assert _refused(campaign) == ["Prize “保温杯” is worth ¥50000.01, more than the ¥50000 allowed."]


def test_a_points_prize_is_valued_at_the_policy_point_value():
    prizes = [
        {"name": "大奖", "kind": PrizeKind.POINTS, "points": 5_000_001, "weight_bp": 1000, "quantity": 1},
        NONE_ROW,
    ]
    assert _refused(make_campaign(prizes=prizes, publish=False)) == [
        "Prize “大奖” is worth ¥50000.01, more than the ¥50000 allowed."
    ]
    PointValuePolicy.objects.update_or_create(pk=1, defaults={"yuan_per_point": Decimal("0.001")})
    services.lottery_campaign_publish(campaign_id=make_campaign(prizes=prizes, publish=False).pk, now=BEFORE)


def test_the_point_value_must_be_positive():
    policy = PointValuePolicy.load()
    assert policy.yuan_per_point == Decimal("0.01")
    policy.yuan_per_point = Decimal("0")
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "yuan_per_point" in caught.value.message_dict
    policy.pk = 1
    policy.yuan_per_point = Decimal("0.01")
    policy.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        PointValuePolicy.objects.filter(pk=1).update(yuan_per_point=Decimal("0"))


# --- 5. A draw key belongs to its campaign ------------------------------------------------------


def test_a_key_reused_for_another_campaign_is_a_conflict(numbers):
    first, second = make_campaign(), make_campaign(name="第二个")
    member = member_with(1000)
    numbers.append(9000)
    draw(member, first, key="same")
    before = snapshot()
    with pytest.raises(IdempotencyConflictError) as caught:
        draw(member, second, key="same")
    assert caught.value.http_status == 409
    assert snapshot() == before


# --- 6. The wheel, "not open now", free campaigns --------------------------------------------


def test_without_a_no_prize_row_the_wheel_stops_on_the_prize_that_is_gone(numbers):
    prizes = [
        {"name": "一百积分", "kind": PrizeKind.POINTS, "points": 100, "weight_bp": 5000, "quantity": 1},
        {"name": "十积分", "kind": PrizeKind.POINTS, "points": 10, "weight_bp": 5000, "quantity": 10},
    ]
    campaign = make_campaign(prizes=prizes)
    member = member_with(1000)
    numbers.extend([0, 0])
    draw(member, campaign)
    result = draw(member, campaign)  # the first prize is gone
    gone = prize(campaign, 0)
    assert (result.outcome, result.prize_id, result.picked_id) == (DrawOutcome.FELL_THROUGH, None, gone.pk)
    page = selectors.campaign_page(campaign_id=campaign.pk)
    assert views._prize_index(page, result.prize_id, result.picked_id) == 0
    assert result.message == "That prize is gone for now: no prize this time."


def test_a_post_to_an_upcoming_campaign_says_not_open_before_any_form_check(client):
    campaign = make_campaign(starts_at=T0 + timedelta(hours=1))
    member = member_with(1000)
    client.force_login(member)
    before = snapshot()
    response = client.post(f"/lottery/{campaign.pk}/draw/", {})
    assert response.status_code == 409
    assert "This prize draw is not open now" in response.content.decode()
    assert snapshot() == before


def test_a_free_campaign_shows_no_monthly_free_draws(client):
    campaign = make_campaign(cost_points=0)
    gold = member_with(1, tier="gold")  # 2 free draws a month elsewhere
    page = selectors.campaign_page(campaign_id=campaign.pk, user_id=gold.pk)
    assert (page.member.free_left, page.member.cost_points) == (0, 0)
    client.force_login(gold)
    html = client.get(f"/lottery/{campaign.pk}/").content.decode()
    assert "free draws left this month" not in html and "free draw left this month" not in html
    assert "Draw for free" in html
