"""Holds: points reserved for a host's checkout (积分抵扣) until the host's order is paid.

A hold claims a quantity of the member's available points, not particular lots: placing it
raises ``Account.held`` (the mall's pages and spends then see ``balance - held``), capturing
it spends the points FIFO by expiry through the ledger's one spend path, releasing or
expiring it gives the claim up. Every function locks the member's account first, then the
hold row. The rules for the edge cases are in docs/decisions/0033-checkout-holds.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from points import locks
from points.enums import HoldStatus
from points.exceptions import (
    HoldNotActiveError,
    HoldNotFoundError,
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidHoldExpiryError,
)
from points.models import Account, Hold
from points.services import _core
from points.services.ledger import spend_locked
from pointsmall.kernel.errors import DomainError


@dataclass(frozen=True)
class HoldReceipt:
    """A hold as a service leaves it. ``amount`` in points; ``entry_id``: the spend entry of a
    captured hold, else None; ``replayed``: this call changed nothing (an earlier one did)."""

    hold_id: int
    key: str
    amount: int
    status: str
    expires_at: datetime
    created_at: datetime
    entry_id: int | None
    replayed: bool = False
    user_id: int = 0
    reference: str = ""
    settled_at: datetime | None = None


def _receipt(hold: Hold, user_id: int, *, replayed: bool = False) -> HoldReceipt:
    return HoldReceipt(
        hold_id=hold.pk,
        key=hold.key,
        amount=hold.amount,
        status=hold.status,
        expires_at=hold.expires_at,
        created_at=hold.created_at,
        entry_id=hold.spend_entry_id,
        replayed=replayed,
        user_id=user_id,
        reference=hold.reference,
        settled_at=hold.settled_at,
    )


def _change_held(account: Account, delta: int) -> None:
    """Add ``delta`` to the account's held points in the database (guarded) and on the locked row."""
    changed = Account.objects.filter(pk=account.pk, held__gte=-delta if delta < 0 else 0).update(
        held=F("held") + delta, updated_at=timezone.now()
    )
    if changed != 1:
        raise RuntimeError(f"account {account.pk}: held points cannot change by {delta}; ledger invariant broken")
    account.held = account.held + delta


def _settle_hold(account: Account, hold: Hold, status: str, now: datetime) -> None:
    """End an active hold without spending it (released or expired): its points are free again."""
    _change_held(account, -hold.amount)
    hold.status = status
    hold.settled_at = now
    hold.save(update_fields=["status", "settled_at"])


@transaction.atomic
def points_hold_place(
    *,
    user_id: int,
    amount: int,
    key: str,
    reference: str = "",
    expires_at: datetime,
    now: datetime | None = None,
) -> HoldReceipt:
    """Reserve ``amount`` points of the member's available ones until ``expires_at``.

    ``key``: the caller's idempotency key (unique over all holds); the same key for the same
    member and amount returns the first hold as it is now (``replayed``), another request with
    it raises IdempotencyConflictError. Raises InvalidAmountError, InvalidHoldExpiryError
    (``expires_at`` not after ``now``), AccountNotFoundError and InsufficientPointsError
    (``available`` = balance − held, nothing is written). Locks: the account.
    """
    _core.check_positive(amount)
    account = locks.account_for_update(user_id=user_id)
    now = now or timezone.now()
    # Settled before the replay too: a replay answers the hold as it is now, and a hold past
    # its time is expired whether or not the sweep has run (docs/decisions/0033).
    _core.settle(account, now)
    earlier = Hold.objects.filter(key=key).first()
    if earlier is not None:
        if earlier.account_id != account.pk or earlier.amount != amount:
            raise IdempotencyConflictError()
        return _receipt(earlier, user_id, replayed=True)
    _core.check_not_frozen(account)
    if expires_at <= now:
        raise InvalidHoldExpiryError()
    available = max(account.balance - account.held, 0)
    if available < amount:
        raise InsufficientPointsError(available=available, required=amount)
    try:
        with transaction.atomic():
            hold = Hold.objects.create(
                account=account, key=key, reference=reference, amount=amount, created_at=now, expires_at=expires_at
            )
    except IntegrityError:
        # Another member's request committed this key meanwhile (the lock only serialises this member's).
        raise IdempotencyConflictError() from None
    _change_held(account, amount)
    return _receipt(hold, user_id)


def _lock(hold_id: int) -> tuple[Account, Hold]:
    """Lock the hold's account, then the hold. Raises HoldNotFoundError."""
    user_id = Hold.objects.filter(pk=hold_id).values_list("account__user_id", flat=True).first()
    if user_id is None:
        raise HoldNotFoundError()
    account = locks.account_for_update(user_id=user_id)
    return account, Hold.objects.select_for_update().get(pk=hold_id)


def _not_active(hold: Hold) -> HoldNotActiveError:
    # The status inside a sentence: "This hold of points is expired: …".
    return HoldNotActiveError(status=str(HoldStatus(hold.status).label).lower())


def points_hold_capture(
    *,
    hold_id: int,
    now: datetime | None = None,
    memo_code: str = "",
    memo_params: dict | None = None,
) -> HoldReceipt:
    """Spend a hold's points (FIFO by expiry, like any spend): the host's order was paid.

    The spend entry's reference is the hold's; ``memo_code``/``memo_params`` are its history
    text (e.g. ``notices.checkout_paid(order=…).memo``). Capturing a captured hold again returns
    the same receipt (``replayed``). Raises HoldNotFoundError; HoldNotActiveError for a
    released or expired hold, and for an active one past ``expires_at`` (the host was too late:
    settling the account ends it as expired first, like every writer's settle);
    InsufficientPointsError when the balance fell below the hold meanwhile (expiry, a
    reversal): the hold is then released. Those two endings are
    committed before the error is raised, so this function must not run inside a caller's
    transaction that the error would roll back. Locks: the account, then the hold.
    """
    memo = _core.memo_fields(memo_code, memo_params)
    now = now or timezone.now()
    result, refusal = _capture(hold_id, now, memo)
    if refusal is not None:
        raise refusal
    return result


@transaction.atomic
def _capture(hold_id: int, now: datetime, memo: dict) -> tuple[HoldReceipt, DomainError | None]:
    account, hold = _lock(hold_id)
    user_id = account.user_id
    if hold.status == HoldStatus.CAPTURED:
        return _receipt(hold, user_id, replayed=True), None
    if hold.status != HoldStatus.ACTIVE:
        raise _not_active(hold)
    # A capture is a spend: refused while frozen; the hold stays active until released or expired.
    _core.check_not_frozen(account)
    # Settling ends this hold as expired when the host is too late (now >= expires_at).
    lots = _core.settle_for_spend(account, now)
    if hold.expires_at <= now:
        # Read back what the settle wrote; otherwise it left this (locked, active) hold as it was.
        hold.refresh_from_db(fields=["status", "settled_at"])
    if hold.status == HoldStatus.EXPIRED:
        return _receipt(hold, user_id), _not_active(hold)
    # What the member has beyond their other holds; this hold's own points are counted in ``held``.
    available = max(account.balance - (account.held - hold.amount), 0)
    if available < hold.amount:
        _settle_hold(account, hold, HoldStatus.RELEASED, now)
        return _receipt(hold, user_id), InsufficientPointsError(available=available, required=hold.amount)
    _change_held(account, -hold.amount)
    entry = spend_locked(
        account,
        user_id=user_id,
        amount=hold.amount,
        idempotency_key=f"points.hold:{hold.pk}",
        reference=hold.reference,
        memo=memo,
        now=now,
        lots=lots,
    )
    hold.status = HoldStatus.CAPTURED
    hold.settled_at = now
    hold.spend_entry = entry
    hold.save(update_fields=["status", "settled_at", "spend_entry"])
    return _receipt(hold, user_id), None


@transaction.atomic
def points_hold_release(*, hold_id: int, now: datetime | None = None) -> HoldReceipt:
    """Give a hold's points back to the member's spendable ones (the host's order was cancelled).

    Releasing a released or expired hold changes nothing and returns it as it is (``replayed``);
    an active hold past ``expires_at`` is ended as expired by the settle and answered the same.
    Raises HoldNotFoundError; HoldNotActiveError for a captured hold (refund the spend instead).
    Locks: the account, then the hold.
    """
    account, hold = _lock(hold_id)
    if hold.status in (HoldStatus.RELEASED, HoldStatus.EXPIRED):
        return _receipt(hold, account.user_id, replayed=True)
    if hold.status == HoldStatus.CAPTURED:
        raise _not_active(hold)
    now = now or timezone.now()
    # A hold past its time had already ended (expired) before this call: answer it as such,
    # the same as after the sweep, and do not relabel it released.
    _core.settle(account, now)
    hold.refresh_from_db(fields=["status", "settled_at"])
    if hold.status == HoldStatus.EXPIRED:
        return _receipt(hold, account.user_id, replayed=True)
    _settle_hold(account, hold, HoldStatus.RELEASED, now)
    return _receipt(hold, account.user_id)


def points_holds_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """End every active hold past its ``expires_at`` (status expired); returns how many were ended.

    Each batch is its own short transaction over a bounded set of accounts locked in primary-key
    order with SKIP LOCKED (a member in the middle of an operation is skipped; the next run or a
    capture, which checks the expiry itself, takes care of them). Safe on several workers at once
    and to run twice.
    """
    now = now or timezone.now()
    ended = 0
    after = 0
    while True:
        candidates = list(
            Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=now, account_id__gt=after)
            .order_by("account_id")
            .values_list("account_id", flat=True)
            .distinct()[:batch_size]
        )
        if not candidates:
            return ended
        after = candidates[-1]
        with transaction.atomic():
            locked = locks.accounts_for_update_skip_locked(account_ids=candidates)
            due = Hold.objects.filter(account_id__in=locked, status=HoldStatus.ACTIVE, expires_at__lte=now)
            per_account = dict(
                due.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total")
            )
            ended = ended + due.update(status=HoldStatus.EXPIRED, settled_at=now)
            for account_id, total in sorted(per_account.items()):
                changed = Account.objects.filter(pk=account_id, held__gte=total).update(
                    held=F("held") - total, updated_at=timezone.now()
                )
                if changed != 1:
                    raise RuntimeError(f"account {account_id}: held points below its holds; ledger invariant broken")
