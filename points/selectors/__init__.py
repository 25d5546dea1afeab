"""Reads of the ledger. Other apps get small frozen dataclasses, never models.

One module per area: ``balances`` (spendable balance, expiring points, lots, refunds),
``entries`` (the history), ``holds`` (host checkout holds), ``tiers`` (tier views and the tier reads the services use),
``rules_page`` (the live rules), ``identities`` (the keyed identity hash and claims),
``rankings`` (everyone's earnings over a period, for the leaderboard).
Selectors never import services.
"""

from points.selectors.aggregates import (
    FastEarner,
    Liability,
    PointsDay,
    expiry_forecast,
    fast_earners,
    ledger_members_by_day,
    point_value_yuan,
    points_by_day,
    points_liability,
)
from points.selectors.balances import (
    EXPIRING_SOON_DAYS,
    BalanceSummary,
    ExpiringPoints,
    LotView,
    RefundOutcome,
    balance_summary,
    forfeitable_points,
    lots,
    refund_outcome,
    spendable_balance,
)
from points.selectors.earning import earning_points, earning_points_for
from points.selectors.entries import EntriesPage, EntryView, HistoryRow, entries_page, entry_description, history
from points.selectors.freezes import account_frozen_since, frozen_user_ids
from points.selectors.holds import HoldView, hold_get
from points.selectors.identities import identity_hash, identity_known_elsewhere
from points.selectors.rankings import earned_ranking
from points.selectors.rules_page import (
    CampaignView,
    EarningRuleView,
    LiveRules,
    expiry_policy_text,
    live_rules,
)
from points.selectors.tiers import (
    MemberStatus,
    TierStatus,
    TierTrialView,
    TierView,
    earned_tier,
    header_status,
    member_status,
    member_tier,
    request_member_status,
    tier_choices,
    tier_ladder,
    tier_member_ids,
    tier_names,
    tier_status,
    tier_trials,
)

__all__ = [
    "EXPIRING_SOON_DAYS",
    "BalanceSummary",
    "CampaignView",
    "EarningRuleView",
    "EntriesPage",
    "EntryView",
    "ExpiringPoints",
    "FastEarner",
    "HistoryRow",
    "HoldView",
    "Liability",
    "LiveRules",
    "LotView",
    "MemberStatus",
    "PointsDay",
    "RefundOutcome",
    "TierStatus",
    "TierTrialView",
    "TierView",
    "account_frozen_since",
    "balance_summary",
    "earned_ranking",
    "earned_tier",
    "earning_points",
    "earning_points_for",
    "entries_page",
    "entry_description",
    "expiry_forecast",
    "expiry_policy_text",
    "fast_earners",
    "forfeitable_points",
    "frozen_user_ids",
    "header_status",
    "history",
    "hold_get",
    "identity_hash",
    "identity_known_elsewhere",
    "ledger_members_by_day",
    "live_rules",
    "lots",
    "member_status",
    "member_tier",
    "point_value_yuan",
    "points_by_day",
    "points_liability",
    "refund_outcome",
    "request_member_status",
    "spendable_balance",
    "tier_choices",
    "tier_ladder",
    "tier_member_ids",
    "tier_names",
    "tier_status",
    "tier_trials",
]
