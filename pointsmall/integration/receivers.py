"""What the host integration listens to (connected from IntegrationConfig.ready()): every app's
announcements that a host may subscribe to as webhooks (docs/integration.md, "Webhooks").

Each receiver runs inside the sender's transaction and only writes the outbox
(``webhooks.webhook_event_record``), so the deliveries commit or roll back with the event.
The data is what a host can act on and keep: ids, statuses, names, points, dates. Never a
secret, never the code of a code or coupon item.

Names, one rule for every event that carries one (``product_name`` of order.created and
order.status_changed, ``campaign.name`` and ``prize.name`` of lottery.won): an object
``{"zh-hans": <the Chinese name>, "en": <the English name>}``. The Chinese name is always
there (the mall's default language, required on every product, campaign and prize); ``en``
only when an English name is set. Never the language of whoever happened to trigger the event.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.dispatch import receiver

from catalog.models import Order, Product
from catalog.signals import order_created, order_status_changed
from lottery.models import LotteryCampaign, LotteryPrize
from lottery.signals import prize_won
from points.signals import expiry_reminder_due, points_earned, points_spent, tier_changed
from pointsmall.integration import formats
from pointsmall.integration.enums import WebhookEventType as Event
from pointsmall.integration.webhooks import webhook_event_record

ORDER_REFERENCE_PREFIX = "catalog.order:"


_when = formats.instant
_money = formats.money


def _name(zh: str, en: str = "") -> dict[str, str]:
    """A name in a webhook payload (the rule in the module docstring)."""
    return {"zh-hans": zh, "en": en} if en else {"zh-hans": zh}


def _product_name(product_id: int | None, fallback: str) -> dict[str, str]:
    """The product's names; the order's own snapshot as the Chinese one if the product is gone."""
    names = Product.objects.filter(pk=product_id).values_list("name_zh", "name_en").first() if product_id else None
    return _name(*names) if names else _name(fallback)


def _record(user_id: int, event: str, data: dict[str, Any]) -> None:
    webhook_event_record(user_id=user_id, event_type=event, data=data)


@receiver(order_created, dispatch_uid="integration.webhook_order_created")
def webhook_order_created(
    sender,
    user_id: int,
    order_id: int,
    source: str,
    status: str,
    product_id: int,
    product_name: str,
    kind: str,
    quantity: int,
    points_total: int,
    cash_total: Decimal,
    **kwargs,
) -> None:
    _record(
        user_id,
        Event.ORDER_CREATED,
        {
            "order_id": order_id,
            "source": source,
            "status": str(status),
            "product_id": product_id,
            "product_name": _product_name(product_id, product_name),
            "product_kind": str(kind),
            "quantity": quantity,
            "points": points_total,
            "cash": _money(cash_total),
        },
    )


@receiver(order_status_changed, dispatch_uid="integration.webhook_order_status_changed")
def webhook_order_status_changed(
    sender, user_id: int, order_id: int, old_status: str, new_status: str, action: str, product_name: str, **kwargs
) -> None:
    _record(
        user_id,
        Event.ORDER_STATUS_CHANGED,
        {
            "order_id": order_id,
            "old_status": str(old_status),
            "status": str(new_status),
            "action": str(action),
            "product_name": _product_name(
                Order.objects.filter(pk=order_id).values_list("product_id", flat=True).first(), product_name
            ),
        },
    )


@receiver(points_earned, dispatch_uid="integration.webhook_points_earned")
def webhook_points_earned(
    sender,
    user_id: int,
    entry_id: int,
    points: int,
    source: str,
    pending: bool,
    available_at: datetime,
    balance_after: int,
    **kwargs,
) -> None:
    _record(
        user_id,
        Event.POINTS_EARNED,
        {
            "entry_id": entry_id,
            "points": points,
            "source": str(source),
            "pending": pending,
            "available_at": _when(available_at),
            "balance_after": balance_after,
        },
    )


@receiver(points_spent, dispatch_uid="integration.webhook_points_spent")
def webhook_points_spent(
    sender, user_id: int, entry_id: int, amount: int, reference: str, balance_after: int, **kwargs
) -> None:
    order_id = None
    if reference.startswith(ORDER_REFERENCE_PREFIX) and reference[len(ORDER_REFERENCE_PREFIX) :].isdigit():
        order_id = int(reference[len(ORDER_REFERENCE_PREFIX) :])
    _record(
        user_id,
        Event.POINTS_SPENT,
        {
            "entry_id": entry_id,
            "points": amount,
            "reference": reference,
            "order_id": order_id,
            "balance_after": balance_after,
        },
    )


@receiver(expiry_reminder_due, dispatch_uid="integration.webhook_points_expiring")
def webhook_points_expiring(
    sender, user_id: int, points: int, expires_on: date, dates: list[tuple[date, int]], reminder_id: int, **kwargs
) -> None:
    _record(
        user_id,
        Event.POINTS_EXPIRING,
        {
            "points": points,
            "expires_on": _when(expires_on),
            # Each day: the points still spendable up to the end of that day (business time zone).
            "dates": [{"date": _when(day), "points": count} for day, count in dates],
            "reminder_id": reminder_id,
        },
    )


@receiver(tier_changed, dispatch_uid="integration.webhook_tier_changed")
def webhook_tier_changed(sender, user_id: int, old_tier: str, new_tier: str, change: str, **kwargs) -> None:
    _record(
        user_id,
        Event.TIER_CHANGED,
        {"old_tier": old_tier or None, "tier": new_tier, "change": str(change)},
    )


@receiver(prize_won, dispatch_uid="integration.webhook_prize_won")
def webhook_prize_won(
    sender,
    user_id: int,
    draw_id: int,
    campaign_id: int,
    campaign_name: str,
    prize_id: int,
    prize_name: str,
    prize_kind: str,
    points: int,
    reward_reference: str,
    **kwargs,
) -> None:
    campaign_en = LotteryCampaign.objects.filter(pk=campaign_id).values_list("name_en", flat=True).first() or ""
    prize_en = LotteryPrize.objects.filter(pk=prize_id).values_list("name_en", flat=True).first() or ""
    order_id = None
    if reward_reference.startswith(ORDER_REFERENCE_PREFIX):
        order_id = int(reward_reference[len(ORDER_REFERENCE_PREFIX) :])
    _record(
        user_id,
        Event.LOTTERY_WON,
        {
            "draw_id": draw_id,
            "campaign": {"id": campaign_id, "name": _name(campaign_name, campaign_en)},
            "prize": {"id": prize_id, "name": _name(prize_name, prize_en), "kind": str(prize_kind), "points": points},
            # A catalog item or code prize is delivered as an order (its own order.created follows).
            "order_id": order_id,
        },
    )
