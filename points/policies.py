"""The operators' singleton policy rows of the ledger: one loader per policy.

Each policy is one row (pk 1) that operators edit in the admin; until they save it, the
model's field defaults apply (an unsaved instance, never written here): each loader is the
model's ``SingletonModel.load()``. Every reader of a policy calls its loader below instead
of querying the table itself.
"""

from __future__ import annotations

from points.models import ExpiryPolicy, PointValuePolicy, PurchasePolicy, RulesPage, TierPolicy


def expiry_policy() -> ExpiryPolicy:
    """When points expire and how long before members are reminded (one query)."""
    return ExpiryPolicy.load()


def purchase_policy() -> PurchasePolicy:
    """Points per yuan, the first-purchase bonus and the returns window (one query)."""
    return PurchasePolicy.load()


def tier_policy() -> TierPolicy:
    """The tiers' qualifying window, downgrade steps and warning days (one query)."""
    return TierPolicy.load()


def rules_page() -> RulesPage:
    """The operator-written part of the public rules page, both languages (one query)."""
    return RulesPage.load()


def point_value_policy() -> PointValuePolicy:
    """What one point is worth in yuan (one query)."""
    return PointValuePolicy.load()
