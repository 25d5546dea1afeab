"""lcore's test helpers: a published campaign with prizes, funded members, a "nothing written" snapshot."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from lottery import services
from lottery.models import Draw, DrawerState, LotteryCampaign, LotteryPrize, PrizeKind, PrizeRelease
from points import selectors as points_selectors
from points import services as points_services
from points.models import Account, Entry, Tier
from tests.factories import MemberFactory, StaffFactory

T0 = datetime(2026, 5, 12, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, a Tuesday
_keys = itertools.count(1)

# Published order: points 100 (10%), points 10 (20%), no prize (70%).
DEFAULT_PRIZES = [
    {
        "name": "一百积分",
        "name_en": "100 points",
        "kind": PrizeKind.POINTS,
        "points": 100,
        "weight_bp": 1000,
        "quantity": 50,
    },
    {
        "name": "十积分",
        "name_en": "10 points",
        "kind": PrizeKind.POINTS,
        "points": 10,
        "weight_bp": 2000,
        "quantity": 500,
    },
    {"name": "谢谢参与", "name_en": "Thanks for playing", "kind": PrizeKind.NONE, "weight_bp": 7000},
]


def make_campaign(*, prizes=None, publish=True, now=T0, **fields) -> LotteryCampaign:
    values = {
        "name": "幸运转盘",
        "name_en": "Lucky wheel",
        "description": "每次 10 积分。",
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=10),
        "cost_points": 10,
    }
    values.update(fields)
    campaign = services.lottery_campaign_create(**values)
    for position, prize in enumerate(prizes if prizes is not None else DEFAULT_PRIZES):
        LotteryPrize.objects.create(campaign=campaign, position=position, **prize)
    if publish:
        published_at = min(now - timedelta(days=2), campaign.starts_at - timedelta(hours=1))  # before the start
        services.lottery_campaign_publish(campaign_id=campaign.pk, now=published_at)
        campaign.refresh_from_db()
    return campaign


def prize(campaign, position: int) -> LotteryPrize:
    return campaign.prizes.get(position=position)


def fund(user, points: int) -> None:
    points_services.points_adjust(
        user_id=user.pk,
        amount=points,
        reason="test funds",
        actor_id=StaffFactory().pk,
        idempotency_key=f"lottery-test-fund:{user.pk}:{next(_keys)}",
    )


def member_with(points: int = 1000, *, tier: str | None = None, joined: datetime | None = None):
    user = MemberFactory()
    if joined is not None:
        type(user).objects.filter(pk=user.pk).update(date_joined=joined)
    fund(user, points)
    if tier is not None:
        Account.objects.filter(user_id=user.pk).update(tier=Tier.objects.get(code=tier))
    return user


def balance(user) -> int:
    return points_selectors.spendable_balance(user_id=user.pk) or 0


def draw(user, campaign, *, key: str | None = None, now=T0, **kwargs):
    return services.lottery_draw(
        user_id=user.pk, campaign_id=campaign.pk, idempotency_key=key or f"k{next(_keys)}", now=now, **kwargs
    )


def snapshot() -> dict:
    """Counts of everything a draw writes."""
    return {
        "draws": Draw.objects.count(),
        "states": list(DrawerState.objects.values_list("pk", "draws", "since_win").order_by("pk")),
        "remaining": list(LotteryPrize.objects.values_list("pk", "remaining").order_by("pk")),
        "releases": list(PrizeRelease.objects.values_list("pk", "released").order_by("pk")),
        "entries": Entry.objects.count(),
    }


__all__ = ["Decimal"]
