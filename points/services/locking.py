"""Lock the ledger account for another app's transaction, honouring the lock order."""

from __future__ import annotations

from django.db import transaction

from points import locks


def account_lock(*, user_id: int) -> None:
    """Lock the member's points account until the caller's transaction ends.

    Other apps call this first when they must check something per member before spending
    (e.g. "once a day" redemption limits), so that two requests of the same member are
    serialised and the lock order stays: points account first, then the app's own rows.
    Raises AccountNotFoundError. Must be called inside ``transaction.atomic``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("account_lock() needs an open transaction")
    locks.account_for_update(user_id=user_id)
