"""The live rules the public rules page states, read from the operators' settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from points import features, notices, policies
from points.enums import EarningSource
from points.models import Campaign, EarningRule, PurchaseRate
from points.selectors.tiers import TierView, tier_ladder


def expiry_policy_text() -> dict:
    """The live expiry rule, for the rules page."""
    policy = policies.expiry_policy()
    return {
        "mode": policy.mode,
        "months": policy.months,
        "rounding": policy.rounding,
        "reminder_days": policy.reminder_days,
    }


@dataclass(frozen=True)
class EarningRuleView:
    source: str
    label: str
    points: int
    daily_cap: int | None
    weekly_cap: int | None
    monthly_cap: int | None
    multipliers: bool


@dataclass(frozen=True)
class CampaignView:
    name: str
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    sources: list[str]


@dataclass(frozen=True)
class LiveRules:
    earning: list[EarningRuleView]
    points_per_yuan: Decimal
    pending_days: int
    excluded: list[str]
    special_rates: list[tuple[str, Decimal]]
    tiers: list[TierView]
    tier_window_months: int
    campaigns: list[CampaignView]
    expiry: dict
    free_draws: bool = False  # the lottery exists, so tiers' free draws mean something


def _campaign_sources(campaign) -> list[str]:
    """The campaign's source codes in the enum's order; empty means every source."""
    codes = campaign.source_codes or frozenset()
    return [code for code in EarningSource.values if code in codes]


def live_rules() -> LiveRules:
    """Everything the public rules page states, read from the operators' live settings."""
    purchase = policies.purchase_policy()
    tier_policy = policies.tier_policy()
    rates = list(PurchaseRate.objects.order_by("scope", "key"))
    now = timezone.now()
    return LiveRules(
        earning=[
            EarningRuleView(
                source=r.source,
                label=str(EarningSource(r.source).label),
                points=r.points,
                daily_cap=r.daily_cap,
                weekly_cap=r.weekly_cap,
                monthly_cap=r.monthly_cap,
                multipliers=r.apply_multipliers,
            )
            for r in EarningRule.objects.filter(active=True).order_by("source")
            # Only what members can earn today: no rule of a feature that isn't built yet.
            if r.points > 0 and features.source_live(r.source)
        ],
        points_per_yuan=purchase.points_per_yuan,
        pending_days=purchase.pending_days,
        excluded=[r.key for r in rates if r.excluded],
        special_rates=[(r.key, r.points_per_yuan) for r in rates if not r.excluded],
        tiers=tier_ladder(),
        tier_window_months=tier_policy.window_months,
        campaigns=_live_campaigns(Campaign.objects.filter(active=True, ends_at__gt=now).order_by("starts_at")),
        expiry=expiry_policy_text(),
        free_draws=features.feature_live(features.LOTTERY),
    )


def _live_campaigns(campaigns) -> list[CampaignView]:
    """Campaigns as members may read them: only sources that exist today are named, and a
    campaign for nothing but features still to come is not shown at all."""
    views = []
    for c in campaigns:
        # source_codes never fails on a stored value; frozenset() names nothing known: never announced.
        sources = _campaign_sources(c)
        if c.source_codes == frozenset():
            continue
        live = [source for source in sources if features.source_live(source)]
        if sources and not live:
            continue
        name = notices.localized(notices.bilingual(zh=c.name, en=c.name_en))
        views.append(CampaignView(name, c.multiplier, c.starts_at, c.ends_at, live))
    return views
