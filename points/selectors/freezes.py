"""Whether a member's points account is frozen (docs/decisions/0055)."""

from __future__ import annotations

from datetime import datetime

from points.models import Account


def account_frozen_since(*, user_id: int) -> datetime | None:
    """When the member's points account was frozen, or None: not frozen, or no account. One query."""
    return Account.objects.filter(user_id=user_id).values_list("frozen_at", flat=True).first()


def frozen_user_ids(*, user_ids: list[int]) -> set[int]:
    """Those of ``user_ids`` whose points account is frozen. One query."""
    return set(Account.objects.filter(user_id__in=user_ids, frozen_at__isnull=False).values_list("user_id", flat=True))
