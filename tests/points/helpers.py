"""Shared by the ledger service tests: their instant, shorthands for the services, readers of what was written.

Ledger state is only ever created through ``points.services``; the models are read to
check what was written. Every refusal also checks that nothing at all was written
(``refused``), and after every test the whole ledger must pass ``points_verify``
(the ``ledger_stays_consistent`` fixture in conftest.py, which each ledger service test
module applies with ``pytestmark``).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from points import services
from points.models import Account, Entry, ExpiryPolicy, Lot, LotMovement
from points.services import BatchReport, Receipt

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=SHANGHAI)
# The default policy: 12 rolling months, to the end of that business day (exclusive midnight).
DEFAULT_EXPIRY = datetime(2026, 1, 11, 0, 0, tzinfo=SHANGHAI)
NOTHING_DONE = BatchReport()
MUG = {"name": {"zh": "马克杯", "en": "Mug"}, "quantity": 2}


def earn(user, amount, key, **kwargs) -> Receipt:
    return services.points_earn(user_id=user.pk, amount=amount, idempotency_key=key, **kwargs)


def spend(user, amount, key, **kwargs) -> Receipt:
    return services.points_spend(user_id=user.pk, amount=amount, idempotency_key=key, **kwargs)


def refund(user, spend_receipt, key, amount=None) -> Receipt:
    return services.points_refund(
        user_id=user.pk, spend_entry_id=spend_receipt.entry_id, idempotency_key=key, amount=amount
    )


def reverse(user, earn_receipt, key, amount=None) -> Receipt:
    return services.points_reverse(
        user_id=user.pk, earn_entry_id=earn_receipt.entry_id, idempotency_key=key, amount=amount
    )


def totals(user) -> tuple[int, int, int]:
    """(available, pending, owed) of the member's account row."""
    account = Account.objects.get(user=user)
    return account.balance, account.pending, account.debt


def lifetime(user) -> tuple[int, int, int]:
    """(earned, spent, expired) lifetime totals."""
    account = Account.objects.get(user=user)
    return account.lifetime_earned, account.lifetime_spent, account.lifetime_expired


def lot_of(receipt: Receipt) -> Lot:
    return Lot.objects.get(entry_id=receipt.entry_id)


def remaining(*receipts: Receipt) -> list[int]:
    return [lot_of(r).remaining for r in receipts]


def moves(receipt_or_entry) -> list[tuple[int, int]]:
    entry_id = getattr(receipt_or_entry, "entry_id", None) or receipt_or_entry.pk
    return list(LotMovement.objects.filter(entry_id=entry_id).order_by("pk").values_list("lot_id", "amount"))


def entries_of(user) -> list[tuple[str, int, int, int, int]]:
    """(kind, amount, pending_amount, debt_change, balance_after) of every entry, oldest first."""
    return list(
        Entry.objects.filter(account__user=user)
        .order_by("pk")
        .values_list("kind", "amount", "pending_amount", "debt_change", "balance_after")
    )


def ledger_snapshot() -> tuple[list[dict], ...]:
    return (
        list(Account.objects.order_by("pk").values()),
        list(Entry.objects.order_by("pk").values()),
        list(Lot.objects.order_by("pk").values()),
        list(LotMovement.objects.order_by("pk").values()),
    )


@contextmanager
def refused(error: type[Exception], match: str | None = None):
    """The call inside raises ``error`` and leaves every ledger table exactly as it was."""
    before = ledger_snapshot()
    with pytest.raises(error, match=match) as info:
        yield info
    assert ledger_snapshot() == before


def set_policy(**fields) -> None:
    # The policy is operator configuration (edited in admin), not ledger state.
    ExpiryPolicy.objects.filter(pk=1).update(**fields)
