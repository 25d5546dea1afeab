"""The earning rules' live amounts, for apps that pay by a rule and show what it pays."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from points import rules
from points.enums import EarningSource
from points.models import Account, EarningRule, Tier
from points.selectors.tiers import effective_tier


def earning_points(*, source: str) -> int:
    """The fixed points the active rule of ``source`` pays now (before multipliers); 0 when the rule
    is missing or switched off. Raises ValueError for an unknown source. One query, no lock."""
    if source not in EarningSource.values:
        raise ValueError(f"unknown earning source {source!r}")
    rule = EarningRule.objects.filter(source=source).values_list("points", "active").first()
    if rule is None or not rule[1]:
        return 0
    return max(rule[0], 0)


def earning_points_for(*, user_id: int, source: str) -> int:
    """The points ``source``'s active rule would pay this member now: the rule's fixed points after
    their tier's multiplier and the best running campaign's (as ``points_award`` computes them).

    What a page promises ("a review earns 12 points"); the award itself may still pay less when a
    cap or a campaign's spent budget holds it back, and then says why. 0 when the rule is missing or
    switched off. Raises ValueError for an unknown source. A few queries, no lock, writes nothing.
    """
    base = earning_points(source=source)
    if base == 0:
        return 0
    rule = EarningRule.objects.get(source=source)
    if not rule.apply_multipliers:
        return rules.boosted(base)
    # Read-only helpers of the award (no lock taken, no budget consumed).
    from points.services.earning import active_campaign

    now = timezone.now()
    account = Account.objects.filter(user_id=user_id).select_related("tier").first()
    tier = effective_tier(account, now) if account is not None else Tier.objects.order_by("rank").first()
    tier_multiplier = tier.earn_multiplier if tier is not None else Decimal(1)
    campaign = active_campaign(source=source, tier_id=tier.pk if tier is not None else None, now=now)
    if campaign is None:
        return rules.boosted(base, tier_multiplier)
    return rules.boosted(base, tier_multiplier, campaign.multiplier)
