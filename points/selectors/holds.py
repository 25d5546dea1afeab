"""Holds of points for a host's checkout (积分抵扣), as the host API reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from points.enums import HoldStatus
from points.models import Hold


@dataclass(frozen=True)
class HoldView:
    """A hold: ``amount`` in points; ``entry_id``: the spend entry once captured, else None.
    ``status`` is the effective one: an active hold past ``expires_at`` reads ``expired`` even
    before a writer or the sweep ends it (``settled_at`` stays None until one does)."""

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


def effective_status(status: str, expires_at: datetime, now: datetime) -> str:
    """A hold's status at ``now``: an active one whose time ran out is expired (docs/decisions/0033)."""
    return HoldStatus.EXPIRED if status == HoldStatus.ACTIVE and expires_at <= now else status


def hold_get(*, hold_id: int, now: datetime | None = None) -> HoldView | None:
    """The hold with this id as it is at ``now`` (default: the clock), or None."""
    hold = Hold.objects.filter(pk=hold_id).select_related("account").first()
    if hold is None:
        return None
    now = now or timezone.now()
    return HoldView(
        hold_id=hold.pk,
        user_id=hold.account.user_id,
        key=hold.key,
        reference=hold.reference,
        amount=hold.amount,
        status=effective_status(hold.status, hold.expires_at, now),
        created_at=hold.created_at,
        expires_at=hold.expires_at,
        settled_at=hold.settled_at,
        entry_id=hold.spend_entry_id,
    )
