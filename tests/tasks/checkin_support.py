"""Shared by the check-in tests: the frozen instant, members who joined before it, readers of the ledger."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from points import selectors as points_selectors
from points.models import Entry
from tests.factories import MemberFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday in the middle of a month, at noon in Shanghai.
T0 = datetime(2026, 1, 14, 12, 0, tzinfo=SHANGHAI)
JOINED = datetime(2025, 12, 1, 9, 0, tzinfo=SHANGHAI)


def joined_member(when: datetime = JOINED):
    """A member who joined at ``when`` (default 2025-12-01, so every day of 2026 can be made up)."""
    with time_machine.travel(when, tick=False):
        return MemberFactory()


def balance(user) -> int:
    summary = points_selectors.balance_summary(user_id=user.pk)
    return summary.available if summary else 0


def entries(user) -> list[tuple[str, int, str]]:
    """(kind, amount, idempotency key) of the member's ledger entries, oldest first."""
    return list(
        Entry.objects.filter(account__user=user).order_by("pk").values_list("kind", "amount", "idempotency_key")
    )
