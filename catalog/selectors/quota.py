"""How much of a product's per-member limits a member has used: read by the product page and by
the redemption service's check (under its lock), so both count the same orders the same way."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, Sum

from catalog import order_states
from catalog.models import Order
from catalog.rules import RedemptionQuota
from pointsmall.kernel import clock


def redemption_quota(
    *, user_id: int, product_id: int, per_day_limit: int | None, lifetime_limit: int | None, now: datetime
) -> RedemptionQuota:
    """The member's quota on the product: one aggregate query, none when the product has no limit.

    Counts the items of the member's live orders (``order_states.LIVE``); "today" is the business
    day of ``now`` (``clock.period_start``).
    """
    if per_day_limit is None and lifetime_limit is None:
        return RedemptionQuota(per_day_limit=None, lifetime_limit=None)
    today = clock.period_start(now, "day")
    used = Order.objects.filter(member_id=user_id, product_id=product_id, status__in=order_states.LIVE).aggregate(
        today=Sum("quantity", filter=Q(created_at__gte=today)), total=Sum("quantity")
    )
    return RedemptionQuota(
        per_day_limit=per_day_limit,
        lifetime_limit=lifetime_limit,
        used_today=used["today"] or 0,
        used_total=used["total"] or 0,
    )
