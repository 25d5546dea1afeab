"""Pure leaderboard rules: no ORM, no clock.

- Ranks are standard competition ranks ("1224"): equal points share a rank, and the next
  rank skips as many places as were shared (100, 90, 90, 80 → 1, 2, 2, 4).
- A prize band covers ranks ``rank_from``..``rank_to``; a member gets the prize of the band
  holding their rank, so everyone sharing a rank at a band's edge gets that band's prize.
- The all-time board is stored under one fixed period start, ``ALL_TIME_START``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

ALL_TIME_START = date(2000, 1, 1)


def competition_ranks(points: Sequence[int]) -> list[int]:
    """The rank of each of ``points`` (sorted most first): equal points, equal rank (1, 2, 2, 4)."""
    ranks: list[int] = []
    for index, value in enumerate(points):
        if index and value > points[index - 1]:
            raise ValueError("points must be sorted, most first")
        ranks.append(ranks[-1] if index and value == points[index - 1] else index + 1)
    return ranks


def prize_for_rank(rank: int, bands: Iterable[tuple[int, int, int]]) -> int:
    """The points of the band ``(rank_from, rank_to, points)`` holding ``rank``; 0 when none does."""
    for rank_from, rank_to, points in bands:
        if rank_from <= rank <= rank_to:
            return points
    return 0


def overlapping_band(rank_from: int, rank_to: int, bands: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """The first of ``bands`` sharing a rank with ``rank_from``..``rank_to``, or None."""
    for other_from, other_to in bands:
        if rank_from <= other_to and other_from <= rank_to:
            return other_from, other_to
    return None


def previous_month(month_start: date) -> date:
    """The first day of the month before the one starting ``month_start``."""
    return (month_start - timedelta(days=1)).replace(day=1)


def next_month(month_start: date) -> date:
    """The first day of the month after the one starting ``month_start``."""
    return (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
