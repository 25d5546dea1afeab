"""Holds of points for a host's checkout (积分抵扣), as the host API reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from points.models import Hold


@dataclass(frozen=True)
class HoldView:
    """A hold: ``amount`` in points; ``entry_id``: the spend entry once captured, else None."""

    hold_id: int
    user_id: int
    key: str
    reference: str
    amount: int
    status: str
    created_at: datetime
    expires_at: datetime
    settled_at: datetime | None
    entry_id: int | None


def hold_get(*, hold_id: int) -> HoldView | None:
    """The hold with this id, or None."""
    hold = Hold.objects.filter(pk=hold_id).select_related("account").first()
    if hold is None:
        return None
    return HoldView(
        hold_id=hold.pk,
        user_id=hold.account.user_id,
        key=hold.key,
        reference=hold.reference,
        amount=hold.amount,
        status=hold.status,
        created_at=hold.created_at,
        expires_at=hold.expires_at,
        settled_at=hold.settled_at,
        entry_id=hold.spend_entry_id,
    )
