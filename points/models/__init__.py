"""The points ledger tables, one module per area; ``points.models`` re-exports every model.

Only ``points.services`` writes these tables (docs/decisions/0001).
"""

from points.models.earning import Campaign, EarningRule, IdentityClaim
from points.models.freezes import AccountFreeze
from points.models.holds import Hold
from points.models.ledger import CALLER_PRICED_SOURCES, Account, Entry, JSONListOf, Lot, LotMovement
from points.models.policies import ExpiryPolicy, PointValuePolicy, RulesPage
from points.models.purchases import Purchase, PurchaseItem, PurchasePolicy, PurchaseRate, PurchaseRefund
from points.models.tiers import Tier, TierGrant, TierPolicy, ladder_errors

__all__ = [
    "CALLER_PRICED_SOURCES",
    "Account",
    "AccountFreeze",
    "Campaign",
    "EarningRule",
    "Entry",
    "ExpiryPolicy",
    "Hold",
    "IdentityClaim",
    "JSONListOf",
    "Lot",
    "LotMovement",
    "PointValuePolicy",
    "Purchase",
    "PurchaseItem",
    "PurchasePolicy",
    "PurchaseRate",
    "PurchaseRefund",
    "RulesPage",
    "Tier",
    "TierGrant",
    "TierPolicy",
    "ladder_errors",
]
