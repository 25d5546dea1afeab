"""Forfeiting what is left on an account when its member deletes it (docs/decisions/0052)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from points import locks, notices
from points.enums import EntryKind, HoldStatus, LotStatus
from points.models import Account, Hold, Lot
from points.services import _core
from points.services.holds import _settle_hold


@dataclass(frozen=True)
class ForfeitResult:
    """What a forfeit took: ``available`` and ``pending`` points (0 and 0: nothing was left, no
    entry written), the forfeit entry's id (None then), and whether an earlier call did it."""

    available: int
    pending: int
    entry_id: int | None
    replayed: bool = False

    @property
    def total(self) -> int:
        return self.available + self.pending


@transaction.atomic
def points_forfeit(*, user_id: int, idempotency_key: str, now: datetime | None = None) -> ForfeitResult:
    """End every point the member still has, with one ``forfeit`` entry.

    The account is settled first (due holds end, due pending points vest, due lots expire), then
    active holds are released (they reserve part of the balance that is about to go), the
    available balance is taken from its lots by expiry (FIFO) and pending lots are cancelled.
    What the member owes (``debt``) is left as recorded. Lifetime totals do not change: these
    points were earned and neither spent nor expired. The history reads "Forfeited: the account
    was deleted" (points.notices.ACCOUNT_DELETED).

    Locks: the account. Safe to call twice: the same key returns the first result.
    """
    account = locks.account_for_update(user_id=user_id)
    if (first := _core.replay(account, key=idempotency_key, kind=EntryKind.FORFEIT, size=None)) is not None:
        return ForfeitResult(
            available=-first.amount, pending=-first.pending_amount, entry_id=first.entry_id, replayed=True
        )
    now = now or timezone.now()
    _core.settle(account, now)
    # A deleted member's account earns and spends nothing more (a referral reward, a host's late
    # purchase): frozen for good by the deletion itself, with no operator's freeze record — the
    # forfeit entry is the record (found by review; docs/decisions/0052, 0055).
    if account.frozen_at is None:
        Account.objects.filter(pk=account.pk).update(frozen_at=now)
        account.frozen_at = now
    for hold in Hold.objects.filter(account=account, status=HoldStatus.ACTIVE).order_by("pk"):
        _settle_hold(account, hold, HoldStatus.RELEASED, now)
    available, pending = account.balance, account.pending
    if not available and not pending:
        return ForfeitResult(available=0, pending=0, entry_id=None)
    pending_lots = list(
        Lot.objects.filter(account=account, status=LotStatus.PENDING, remaining__gt=0)
        .order_by("pk")
        .values_list("pk", "remaining")
    )
    _core.apply_totals(account, balance=-available, pending=-pending)
    entry = _core.write_entry(
        account,
        kind=EntryKind.FORFEIT,
        amount=-available,
        pending_amount=-pending,
        **_core.memo_fields(notices.ACCOUNT_DELETED, None),
        idempotency_key=idempotency_key,
        created_at=now,
    )
    if available:
        _core.take_fifo(account, entry, available, now)
    if pending_lots:
        _core.move(entry, pending_lots, sign=-1)
        Lot.objects.filter(pk__in=[pk for pk, _remaining in pending_lots]).update(status=LotStatus.CANCELLED)
    return ForfeitResult(available=available, pending=pending, entry_id=entry.pk)
