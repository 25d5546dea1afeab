"""Demo prize draws: a running wheel with pity, and a 9-grid that ended yesterday with its seed
revealed and its winners. Idempotent: a second run finds the campaigns by name and the draws by
their idempotency keys, and changes nothing.

The finished campaign is published and drawn through the lottery's own services at past
instants (their ``now=``), exactly as members would have drawn then; the process clock is
never moved. Prize items come from the demo catalog (``catalog/demo_data/products.toml``),
looked up by their English name (the lottery never imports the catalog).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.utils import timezone

from lottery import services
from lottery.models import Draw, LotteryCampaign, LotteryPrize, LotteryStyle, PrizeKind

WHEEL_NAME = "幸运大转盘"
GRID_NAME = "九宫格抽奖·开业周"
COUPON_ITEM = "Cinema ticket voucher"
PHYSICAL_ITEM = "Wireless earbuds"


def _product_id(name_en: str) -> int | None:
    product = apps.get_model("catalog", "Product")
    return product.objects.filter(name_en=name_en).values_list("pk", flat=True).first()


def _prizes(campaign: LotteryCampaign, rows: list[dict[str, Any]]) -> None:
    for position, row in enumerate(rows, start=1):
        LotteryPrize.objects.create(campaign=campaign, position=position, **row)


def _wheel(now) -> LotteryCampaign:
    campaign = LotteryCampaign.objects.filter(name=WHEEL_NAME).first()
    if campaign is not None:
        return campaign
    starts = now - timedelta(days=3)
    campaign = services.lottery_campaign_create(
        name=WHEEL_NAME,
        name_en="Lucky wheel",
        description="每次抽奖消耗50积分；连续8次未中奖，第9次必中一个仍有库存的奖品。中奖概率、奖品数量见下表，活动期间不变。",
        description_en=(
            "Each draw costs 50 points. After 8 draws without a win, the next one wins a prize still in "
            "stock. The odds and quantities below are published and never change during the campaign."
        ),
        starts_at=starts,
        ends_at=now + timedelta(days=30),
        cost_points=50,
        daily_limit=20,
        style=LotteryStyle.WHEEL,
        pity_after=8,
    )
    coupon, physical = _product_id(COUPON_ITEM), _product_id(PHYSICAL_ITEM)
    rows: list[dict[str, Any]] = [
        {"name": "500积分", "name_en": "500 points", "kind": PrizeKind.POINTS, "points": 500, "weight_bp": 100,
         "quantity": 20, "market_value": Decimal("5.00")},
        {"name": "50积分", "name_en": "50 points", "kind": PrizeKind.POINTS, "points": 50, "weight_bp": 1500,
         "quantity": 5000, "market_value": Decimal("0.50")},
        {"name": "电影票兑换券", "name_en": "Cinema ticket voucher", "kind": PrizeKind.CODE, "product_id": coupon,
         "weight_bp": 200, "quantity": 10, "daily_cap": 3, "market_value": Decimal("45.00")},
        {"name": "无线蓝牙耳机", "name_en": "Wireless earbuds", "kind": PrizeKind.PRODUCT, "product_id": physical,
         "weight_bp": 50, "quantity": 5, "market_value": Decimal("199.00")},
        {"name": "谢谢参与", "name_en": "Thanks for playing", "kind": PrizeKind.NONE, "weight_bp": 8150},
    ]  # fmt: skip
    _prizes(campaign, rows)
    services.lottery_campaign_publish(campaign_id=campaign.pk, now=starts - timedelta(hours=1))
    return campaign


def _grid(now) -> LotteryCampaign:
    campaign = LotteryCampaign.objects.filter(name=GRID_NAME).first()
    if campaign is not None:
        return campaign
    ends = now - timedelta(days=1)
    starts = ends - timedelta(days=7)
    campaign = services.lottery_campaign_create(
        name=GRID_NAME,
        name_en="9-grid draw: opening week",
        description="开业周九宫格抽奖，每次20积分；连续3次未中奖，第4次必中。活动已结束，种子已公开，可逐次验证。",
        description_en=(
            "Opening-week 9-grid: 20 points a draw; after 3 draws without a win the 4th wins. The campaign "
            "has ended and its seed is revealed: every draw can be verified."
        ),
        starts_at=starts,
        ends_at=ends,
        cost_points=20,
        style=LotteryStyle.GRID,
        pity_after=3,
    )
    rows: list[dict[str, Any]] = [
        {"name": "200积分", "name_en": "200 points", "kind": PrizeKind.POINTS, "points": 200, "weight_bp": 500,
         "quantity": 10, "market_value": Decimal("2.00")},
        {"name": "20积分", "name_en": "20 points", "kind": PrizeKind.POINTS, "points": 20, "weight_bp": 2300,
         "quantity": 500, "market_value": Decimal("0.20")},
        {"name": "谢谢参与", "name_en": "Thanks for playing", "kind": PrizeKind.NONE, "weight_bp": 7200},
    ]  # fmt: skip
    _prizes(campaign, rows)
    services.lottery_campaign_publish(campaign_id=campaign.pk, now=starts - timedelta(hours=1))
    return campaign


def _grid_draws(campaign: LotteryCampaign, user_ids: dict[str, int]) -> int:
    """Six draws per demo member, a day apart, inside the campaign's window. Returns how many were new."""
    made = 0
    for index, (email, user_id) in enumerate(sorted(user_ids.items())):
        for number in range(6):
            key = f"demo:lottery:{campaign.pk}:{email}:{number}"
            if Draw.objects.filter(idempotency_key=key).exists():
                continue
            at = campaign.starts_at + timedelta(days=number, hours=10 + index)
            services.lottery_draw(
                user_id=user_id, campaign_id=campaign.pk, idempotency_key=key, client_seed=f"demo-{index}-{number}",
                now=at,
            )  # fmt: skip
            made += 1
    return made


def seed_lottery(stdout, *, user_ids: dict[str, int]) -> None:
    """Seed both demo campaigns and the finished one's draws; reveal its seed. Safe to run twice."""
    now = timezone.now()
    wheel = _wheel(now)
    grid = _grid(now)
    made = _grid_draws(grid, user_ids)
    services.lottery_seeds_reveal(now=now)
    stdout.write(f"Lottery: “{wheel.name_en}” running, “{grid.name_en}” finished ({made} new draws).")
