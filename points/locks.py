"""Row locks of the ledger. The account row is the one lock every writer takes first."""

from __future__ import annotations

from collections.abc import Iterable

from points.exceptions import AccountNotFoundError
from points.models import Account


def account_for_update(*, user_id: int) -> Account:
    """Lock and return a member's account; raises AccountNotFoundError."""
    try:
        return Account.objects.select_for_update().get(user_id=user_id)
    except Account.DoesNotExist:
        raise AccountNotFoundError() from None


def accounts_for_update_skip_locked(*, account_ids: Iterable[int]) -> list[int]:
    """Lock the given accounts in primary-key order, skipping any a member is using right now."""
    return list(
        Account.objects.select_for_update(skip_locked=True)
        .filter(pk__in=list(account_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
