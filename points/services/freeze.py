"""Freezing a member's points account: no earning, no spending until unfrozen (docs/decisions/0055).

The state is ``Account.frozen_at``; every change of it writes one ``AccountFreeze`` row (who,
when, why, which way). The ledger's earn and spend paths refuse a frozen account after taking
its lock (``_core.check_not_frozen``); expiry, vesting, refunds, reversals and operators'
adjustments go on. Telling the member is the caller's (accounts.services.account_freeze).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from points import locks
from points.enums import FreezeAction
from points.exceptions import (
    AccountAlreadyFrozenError,
    AccountNotFrozenError,
    FreezeReasonRequiredError,
    SelfFreezeError,
)
from points.models import Account, AccountFreeze

# The longest reason an operator may give (AccountFreeze.reason); the member reads it too.
MAX_REASON_CHARS = 500


def _clean(*, user_id: int, actor_id: int, reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise FreezeReasonRequiredError(max=MAX_REASON_CHARS)
    if user_id == actor_id:
        raise SelfFreezeError()
    return reason


def _change(*, user_id: int, actor_id: int, reason: str, action: FreezeAction, now: datetime | None) -> int:
    reason = _clean(user_id=user_id, actor_id=actor_id, reason=reason)
    account = locks.account_for_update(user_id=user_id)
    freezing = action == FreezeAction.FREEZE
    if freezing and account.frozen_at is not None:
        raise AccountAlreadyFrozenError()
    if not freezing and account.frozen_at is None:
        raise AccountNotFrozenError()
    now = now or timezone.now()
    Account.objects.filter(pk=account.pk).update(frozen_at=now if freezing else None, updated_at=now)
    return AccountFreeze.objects.create(
        account=account, action=action, reason=reason, actor_id=actor_id, created_at=now
    ).pk


@transaction.atomic
def points_account_freeze(*, user_id: int, actor_id: int, reason: str, now: datetime | None = None) -> int:
    """Freeze the member's points account: from now on it neither earns nor spends (every earn,
    award, purchase, spend, hold and capture raises AccountFrozenError). Returns the id of the
    ``AccountFreeze`` row written.

    ``reason``: why, 1–500 characters after collapsing white space (FreezeReasonRequiredError);
    ``actor_id``: the operator, never the member themselves (SelfFreezeError). Freezing a frozen
    account is refused (AccountAlreadyFrozenError) and writes nothing: the operator learns that
    someone else already did it, and the member is not told twice. Raises AccountNotFoundError.
    Locks: the account, so an earn or spend in flight ends before the freeze and none starts after.
    """
    return _change(user_id=user_id, actor_id=actor_id, reason=reason, action=FreezeAction.FREEZE, now=now)


@transaction.atomic
def points_account_unfreeze(*, user_id: int, actor_id: int, reason: str, now: datetime | None = None) -> int:
    """Unfreeze the member's points account: earning and spending work again. Returns the id of the
    ``AccountFreeze`` row written. Raises as ``points_account_freeze`` does, with
    AccountNotFrozenError for an account that is not frozen. Locks: the account."""
    return _change(user_id=user_id, actor_id=actor_id, reason=reason, action=FreezeAction.UNFREEZE, now=now)
