"""Everyone's earnings over a period, for rankings (the tasks app's leaderboard).

What counts as "earned" (docs/decisions/0026): the points of every ``earn`` entry dated in the
period, pending or available (``amount + pending_amount``), less what ``reverse`` entries dated
in the period took back from an earn (``-amount - pending_amount + debt_change``: cancelled
pending points, points taken from lots and the part that became debt). Nothing else moves the
sum: spends and their refunds, operator adjustments (and reversals of them), expiries, vesting
(the earn already counted its pending points) and debt repayments. A leaderboard prize, and its
reversal, never counts: a board must not feed itself.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db.models import F, Q, Sum

from points.enums import EarningSource, EntryKind
from points.models import Entry

# An entry's contribution to "earned": +size for an earn, -size for the reversal of one.
_EARNED_CHANGE = F("amount") + F("pending_amount") - F("debt_change")
_EARNED_ENTRIES = (Q(kind=EntryKind.EARN) & ~Q(source=EarningSource.LEADERBOARD)) | (
    Q(kind=EntryKind.REVERSE, related_entry__kind=EntryKind.EARN) & ~Q(related_entry__source=EarningSource.LEADERBOARD)
)


def earned_ranking(
    *,
    since: datetime | None,
    until: datetime | None = None,
    exclude_user_ids: Collection[int] = (),
    exclude_staff: bool = False,
    limit: int | None = None,
) -> list[tuple[int, int]]:
    """``[(user_id, points earned), …]`` over ``[since, until)`` (None: unbounded), most first.

    Only members who earned more than 0 are listed. Equal sums are listed by user id (the
    caller gives them one rank). Inactive users never appear; ``exclude_staff`` leaves out
    staff and superusers, ``exclude_user_ids`` anyone else. One GROUP BY query over the
    ``(kind, created_at)`` index; reads only, locks nothing.
    """
    entries = Entry.objects.filter(_EARNED_ENTRIES, account__user__is_active=True)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    if exclude_user_ids:
        entries = entries.exclude(account__user_id__in=list(exclude_user_ids))
    if exclude_staff:
        entries = entries.exclude(Q(account__user__is_staff=True) | Q(account__user__is_superuser=True))
    rows = (
        entries.values("account__user_id")
        .annotate(points=Sum(_EARNED_CHANGE))
        .filter(points__gt=0)
        .order_by("-points", "account__user_id")
        .values_list("account__user_id", "points")
    )
    if limit is not None:
        rows = rows[:limit]
    return [(int(user_id), int(points)) for user_id, points in rows]
