"""Reads of the leaderboard: the page a member sees, built from the refreshed snapshot.

A render costs a few indexed queries: the policy, the snapshot's head (its period and refresh
time), the member's own standing and, on a cache miss only, the top list with its names. The
top list is cached under a key holding the board, its period and the snapshot (its refresh time
and first row id), so a new snapshot is a new key and nothing needs invalidating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q

from accounts import selectors as accounts_selectors
from pointsmall.kernel import clock
from pointsmall.kernel.masking import mask_name
from tasks.models import Board, LeaderboardExclusion, LeaderboardPolicy, LeaderboardPrize, LeaderboardStanding
from tasks.rules import leaderboard as rules

__all__ = [
    "LeaderboardView",
    "PrizeView",
    "StandingView",
    "board_period",
    "leaderboard_policy",
    "leaderboard_view",
    "standing_of",
]

TOP_CACHE_SECONDS = 15 * 60


@dataclass(frozen=True)
class StandingView:
    rank: int
    user_id: int
    name: str  # masked
    points: int

    @property
    def medal(self) -> str:
        """``gold``, ``silver``, ``bronze`` for ranks 1 to 3, else ""."""
        return {1: "gold", 2: "silver", 3: "bronze"}.get(self.rank, "")


@dataclass(frozen=True)
class PrizeView:
    rank_from: int
    rank_to: int
    points: int


@dataclass(frozen=True)
class LeaderboardView:
    board: str
    # The business date the shown period starts (None for the all-time board, or no snapshot yet).
    period_start: date | None
    refreshed_at: datetime | None
    top: tuple[StandingView, ...]
    own: StandingView | None
    prizes: tuple[PrizeView, ...]
    size: int
    # The member is kept off the board (an operator's exclusion, or staff under the policy):
    # they are told their account isn't shown, never why.
    excluded: bool = False

    @property
    def period_end(self) -> date | None:
        """The last business date of the shown period (week and month boards)."""
        if self.period_start is None:
            return None
        if self.board == Board.WEEK:
            return self.period_start + timedelta(days=6)
        return rules.next_month(self.period_start) - timedelta(days=1)

    @property
    def own_in_top(self) -> bool:
        return self.own is not None and any(row.user_id == self.own.user_id for row in self.top)


def board_period(board: str, now: datetime) -> tuple[date, datetime | None]:
    """(the period's first business date as stored, the instant it starts or None for all time)."""
    if board == Board.ALL:
        return rules.ALL_TIME_START, None
    start = clock.period_start(now, "week" if board == Board.WEEK else "month")
    return start.date(), start


def leaderboard_policy() -> LeaderboardPolicy:
    """The operators' leaderboard policy (field defaults until it is saved)."""
    return LeaderboardPolicy.load()


def _top(board: str, period_start: date, snapshot: str, size: int) -> tuple[StandingView, ...]:
    key = f"tasks:leaderboard:{board}:{period_start.isoformat()}:{snapshot}:{size}"
    cached = cache.get(key)
    if cached is not None:
        return tuple(cached)
    rows = list(
        LeaderboardStanding.objects.filter(board=board, period_start=period_start)
        .order_by("rank", "member_id")
        .values_list("rank", "member_id", "points")[:size]
    )
    names = accounts_selectors.display_names(user_ids=[member_id for _rank, member_id, _points in rows])
    top = tuple(
        StandingView(rank=rank, user_id=member_id, name=mask_name(names.get(member_id, "")) or "*", points=points)
        for rank, member_id, points in rows
    )
    cache.set(key, top, TOP_CACHE_SECONDS)
    return top


def _left_out(user_id: int, *, exclude_staff: bool) -> bool:
    """Whether the refresh leaves ``user_id`` off every board, as it is now. One query."""
    left_out = Q(pk__in=LeaderboardExclusion.objects.filter(member_id=user_id).values("member_id"))
    if exclude_staff:
        left_out |= Q(is_staff=True) | Q(is_superuser=True)
    return get_user_model().objects.filter(pk=user_id).filter(left_out).exists()


def leaderboard_view(*, user_id: int, board: str) -> LeaderboardView:
    """The ``board`` (Board value) as ``user_id`` sees it: the top list (masked names), their own
    standing (None when they are not ranked: no points in the period, or left out), whether
    they are left out (``excluded``: one more query, only when not ranked) and, for the
    month board with prizes switched on, the prize bands. Reads the latest snapshot; with none
    yet, an empty view (``refreshed_at`` None). Writes nothing."""
    policy = leaderboard_policy()
    # A refresh writes new rows: the first row's id and time name the snapshot in the cache key.
    head = (
        LeaderboardStanding.objects.filter(board=board)
        .order_by("rank", "pk")
        .values_list("period_start", "refreshed_at", "pk")
        .first()
    )
    prizes: tuple[PrizeView, ...] = ()
    if board == Board.MONTH and policy.monthly_rewards:
        prizes = tuple(
            PrizeView(rank_from=a, rank_to=b, points=p)
            for a, b, p in LeaderboardPrize.objects.order_by("rank_from").values_list("rank_from", "rank_to", "points")
        )
    if head is None:
        excluded = _left_out(user_id, exclude_staff=policy.exclude_staff)
        return LeaderboardView(board, None, None, (), None, prizes, policy.size, excluded)
    period_start, refreshed_at, first_pk = head
    top = _top(board, period_start, f"{first_pk}-{refreshed_at.timestamp()}", policy.size)
    own = next((row for row in top if row.user_id == user_id), None)
    if own is None:
        mine = (
            LeaderboardStanding.objects.filter(board=board, period_start=period_start, member_id=user_id)
            .values_list("rank", "points")
            .first()
        )
        if mine is not None:
            own = StandingView(rank=mine[0], user_id=user_id, name="", points=mine[1])
    excluded = own is None and _left_out(user_id, exclude_staff=policy.exclude_staff)
    shown_start = None if board == Board.ALL else period_start
    return LeaderboardView(board, shown_start, refreshed_at, top, own, prizes, policy.size, excluded)


def standing_of(*, user_id: int, board: str) -> StandingView | None:
    """The member's standing on ``board`` in the latest snapshot, None when not ranked. One query."""
    row = LeaderboardStanding.objects.filter(board=board, member_id=user_id).values_list("rank", "points").first()
    return None if row is None else StandingView(rank=row[0], user_id=user_id, name="", points=row[1])
