"""Vesting: pending points become spendable once their returns window is over.

Each batch is its own short transaction that locks a bounded set of accounts with
SKIP LOCKED: a member who is spending right now is skipped, not waited for (their own
operation settles their account inline), and a re-run finds nothing new to do. The
expiry sweep works the same way (``points.services.expiry``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from points import locks
from points.enums import LotStatus
from points.exceptions import FutureAsOfError
from points.models import Account, Lot
from points.services import _core
from points.services.reports import BatchReport


def points_vest(*, now: datetime | None = None, batch_size: int = 500) -> BatchReport:
    """Make pending points spendable once their returns window is over. Raises FutureAsOfError.

    Locks: each batch's accounts (pk order, SKIP LOCKED). Safe to run twice.
    """
    if now is not None and now > timezone.now():
        raise FutureAsOfError()
    now = now or timezone.now()
    report = BatchReport()
    after = 0
    while True:
        candidates = list(
            Lot.objects.filter(status=LotStatus.PENDING, available_at__lte=now, remaining__gt=0, account_id__gt=after)
            .order_by("account_id")
            .values_list("account_id", flat=True)
            .distinct()[:batch_size]
        )
        if not candidates:
            return report
        after = candidates[-1]
        points = 0
        with transaction.atomic():
            locked = locks.accounts_for_update_skip_locked(account_ids=candidates)
            for account in Account.objects.filter(pk__in=locked).order_by("pk"):
                # settle() vests, then pays any debt from the newly vested points.
                before = account.pending
                _core.settle(account, now)
                points = points + before - account.pending
        report = report.plus(0, points, len(locked), len(candidates) - len(locked))
