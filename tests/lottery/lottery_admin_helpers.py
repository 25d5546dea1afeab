"""Campaigns and form data for the lottery admin and report tests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from lottery import services as lottery_services
from lottery.models import LotteryCampaign, LotteryPrize, PrizeKind
from tests.factories import MemberFactory

# 18.5% to win something: 1% 500 points, 15% 50 points, 2.5% a ¥45 item; 81.5% no prize.
PRIZES = [
    {"name": "500积分", "name_en": "500 points", "kind": PrizeKind.POINTS, "points": 500, "weight_bp": 100,
     "quantity": 20, "market_value": Decimal("5.00")},
    {"name": "50积分", "name_en": "50 points", "kind": PrizeKind.POINTS, "points": 50, "weight_bp": 1500,
     "quantity": 1000, "market_value": Decimal("0.50")},
    {"name": "电影票", "name_en": "Cinema ticket", "kind": PrizeKind.PRODUCT, "weight_bp": 250,
     "quantity": 5, "daily_cap": 2, "market_value": Decimal("45.00")},
    {"name": "谢谢参与", "name_en": "Thanks for playing", "kind": PrizeKind.NONE, "weight_bp": 8150},
]  # fmt: skip


def draft(*, product=None, prizes=None, **fields) -> LotteryCampaign:
    """An unpublished campaign running from in an hour for a week, with ``PRIZES``
    (a product prize needs ``product``)."""
    now = timezone.now()
    values = {
        "name": "幸运转盘",
        "name_en": "Lucky wheel",
        "description": "每次50积分。",
        "description_en": "50 points a draw.",
        "starts_at": now + timedelta(hours=1),  # publishing needs a start still ahead
        "ends_at": now + timedelta(days=7),
        "cost_points": 50,
        **fields,
    }
    campaign = lottery_services.lottery_campaign_create(**values)
    for position, row in enumerate(prizes if prizes is not None else PRIZES, start=1):
        row = dict(row)
        if row["kind"] in (PrizeKind.PRODUCT, PrizeKind.CODE):
            row["product"] = product
        LotteryPrize.objects.create(campaign=campaign, position=position, **row)
    return campaign


def published(**kwargs) -> LotteryCampaign:
    campaign = draft(**kwargs)
    lottery_services.lottery_campaign_publish(campaign_id=campaign.pk, now=campaign.starts_at - timedelta(hours=1))
    campaign.refresh_from_db()
    return campaign


def operator_member():
    """A staff member in the Operators group (the data migrations' permissions), not a superuser."""
    user = MemberFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))
    return user


def local_split(value) -> tuple[str, str]:
    local = timezone.localtime(value)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def campaign_post(campaign: LotteryCampaign | None = None, **overrides) -> dict:
    """What the add/change form sends for ``campaign`` (or a new one), its prizes included."""
    now = timezone.now()
    starts = campaign.starts_at if campaign else now + timedelta(days=1)
    ends = campaign.ends_at if campaign else now + timedelta(days=8)
    data = {
        "name": campaign.name if campaign else "新转盘",
        "name_en": campaign.name_en if campaign else "New wheel",
        "description": campaign.description if campaign else "规则",
        "description_en": campaign.description_en if campaign else "Rules",
        "starts_at_0": local_split(starts)[0],
        "starts_at_1": local_split(starts)[1],
        "ends_at_0": local_split(ends)[0],
        "ends_at_1": local_split(ends)[1],
        "cost_points": str(campaign.cost_points if campaign else 50),
        "min_account_age_days": "0",
        "daily_limit": "",
        "campaign_limit": "",
        "tier_free_draws": "on",
        "style": "wheel",
        "pity_after": "",
        "consolation_prize": "",
        "prizes-INITIAL_FORMS": "0",
        "prizes-MIN_NUM_FORMS": "0",
        "prizes-MAX_NUM_FORMS": "1000",
    }
    prizes = list(campaign.prizes.order_by("position", "pk")) if campaign else []
    rows = [
        {
            "id": str(p.pk),
            "campaign": str(campaign.pk),
            "position": str(p.position),
            "name": p.name,
            "name_en": p.name_en,
            "kind": p.kind,
            "points": "" if p.points is None else str(p.points),
            "product": "" if p.product_id is None else str(p.product_id),
            "weight_bp": str(p.weight_bp),
            "quantity": "" if p.quantity is None else str(p.quantity),
            "daily_cap": "" if p.daily_cap is None else str(p.daily_cap),
            "market_value": str(p.market_value),
        }
        for p in prizes
    ]
    if campaign is None:
        rows = [
            {"position": "1", "name": "100积分", "name_en": "100 points", "kind": "points", "points": "100",
             "weight_bp": "2000", "quantity": "10", "market_value": "1.00"},
            {"position": "2", "name": "谢谢参与", "name_en": "Thanks", "kind": "none", "weight_bp": "8000",
             "market_value": "0"},
        ]  # fmt: skip
    data["prizes-INITIAL_FORMS"] = str(len(prizes))
    data["prizes-TOTAL_FORMS"] = str(len(rows))
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"prizes-{index}-{key}"] = value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
