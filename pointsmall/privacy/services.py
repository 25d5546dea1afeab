"""Deleting a member's account: one transaction over every app (docs/decisions/0052)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from accounts.exceptions import (
    AccountDeletedError,
    DeletionNeedsPasswordError,
    DeletionNotConfirmedError,
    DeletionPasswordIncorrectError,
)
from catalog import services as catalog_services
from points import services as points_services


@dataclass(frozen=True)
class DeletionResult:
    """``forfeited``: the points the member gave up (available, held and pending);
    ``orders_cancelled``: the ids of the orders cancelled with the account."""

    forfeited: int
    orders_cancelled: list[int]


def deletion_key(user_id: int) -> str:
    """The idempotency key of the account's forfeit entry: one per account, ever."""
    return f"account-deleted:{user_id}"


@transaction.atomic
def member_delete(*, user_id: int, password: str, confirmation: str, now: datetime | None = None) -> DeletionResult:
    """Delete member ``user_id``'s account, after checking ``password`` (theirs) and
    ``confirmation`` (their e-mail address, typed; case and surrounding spaces ignored).

    In one transaction: cancel the orders they could still cancel (``orders_close_for_deletion``:
    points back, stock back, cash refunded) and erase the delivery details of every order; forfeit
    every point left with one ledger entry (``points_forfeit``); erase the personal data
    (``member_erase``). Orders, ledger entries and referrals stay, anonymised, so the books balance.

    Raises AccountDeletedError (deleted before), DeletionNeedsPasswordError (no password of their
    own), DeletionPasswordIncorrectError, DeletionNotConfirmedError; each writes nothing.
    Locks: the points account, then the member's row, then their orders.
    """
    points_services.account_lock(user_id=user_id)
    user = get_user_model().objects.select_for_update().get(pk=user_id)
    if user.deleted_at is not None:
        raise AccountDeletedError()
    if not user.has_usable_password():
        raise DeletionNeedsPasswordError()
    if not user.check_password(password or ""):
        raise DeletionPasswordIncorrectError()
    if (confirmation or "").strip().lower() != user.email.lower():
        raise DeletionNotConfirmedError()
    now = now or timezone.now()
    cancelled = catalog_services.orders_close_for_deletion(member_id=user_id)
    forfeit = points_services.points_forfeit(user_id=user_id, idempotency_key=deletion_key(user_id), now=now)
    accounts_services.member_erase(user_id=user_id, now=now)
    return DeletionResult(forfeited=forfeit.total, orders_cancelled=cancelled)
