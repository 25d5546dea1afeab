"""The operators' singleton policy rows of the ledger: one loader per policy.

Each policy is one row (pk 1) that operators edit in the admin; until they save it, the
model's field defaults apply (an unsaved instance, never written here). Every reader of a
policy calls its loader below instead of querying the table itself.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from points.models import ExpiryPolicy, PurchasePolicy, TierPolicy

_Policy = TypeVar("_Policy", bound=models.Model)


def _singleton(model: type[_Policy]) -> _Policy:
    # One query; the unsaved default row when operators never saved the policy.
    return model.objects.filter(pk=1).first() or model()  # type: ignore[attr-defined]


def expiry_policy() -> ExpiryPolicy:
    """When points expire and how long before members are reminded (one query)."""
    return _singleton(ExpiryPolicy)


def purchase_policy() -> PurchasePolicy:
    """Points per yuan, the first-purchase bonus and the returns window (one query)."""
    return _singleton(PurchasePolicy)


def tier_policy() -> TierPolicy:
    """The tiers' qualifying window, downgrade steps and warning days (one query)."""
    return _singleton(TierPolicy)
