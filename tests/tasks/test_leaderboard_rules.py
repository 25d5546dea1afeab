"""Pure leaderboard rules: competition ranks, prize bands, months."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.rules import leaderboard as rules


@pytest.mark.parametrize(
    ("points", "ranks"),
    [
        ([], []),
        ([100], [1]),
        ([100, 90, 80], [1, 2, 3]),
        ([100, 90, 90, 80], [1, 2, 2, 4]),
        ([50, 50, 50], [1, 1, 1]),
        ([100, 100, 90, 90, 90, 10], [1, 1, 3, 3, 3, 6]),
    ],
)
def test_equal_points_share_a_rank_and_the_next_rank_skips_the_shared_places(points, ranks):
    assert rules.competition_ranks(points) == ranks


def test_ranks_refuse_unsorted_points():
    with pytest.raises(ValueError, match="sorted"):
        rules.competition_ranks([10, 20])


BANDS = [(1, 1, 500), (2, 3, 200), (4, 10, 50)]


@pytest.mark.parametrize(("rank", "prize"), [(1, 500), (2, 200), (3, 200), (4, 50), (10, 50), (11, 0)])
def test_a_rank_gets_the_prize_of_its_band(rank, prize):
    assert rules.prize_for_rank(rank, BANDS) == prize


def test_no_band_no_prize():
    assert rules.prize_for_rank(1, []) == 0


@pytest.mark.parametrize(
    ("band", "clash"),
    [((11, 20), None), ((10, 12), (4, 10)), ((1, 1), (1, 1)), ((3, 3), (2, 3)), ((0, 100), (1, 1))],
)
def test_overlapping_bands_are_found(band, clash):
    assert rules.overlapping_band(*band, [(1, 1), (2, 3), (4, 10)]) == clash


@pytest.mark.parametrize(
    ("month", "previous", "following"),
    [
        (date(2026, 11, 1), date(2026, 10, 1), date(2026, 12, 1)),
        (date(2026, 1, 1), date(2025, 12, 1), date(2026, 2, 1)),
        (date(2026, 12, 1), date(2026, 11, 1), date(2027, 1, 1)),
        (date(2024, 3, 1), date(2024, 2, 1), date(2024, 4, 1)),
    ],
)
def test_months_step_over_year_ends(month, previous, following):
    assert rules.previous_month(month) == previous
    assert rules.next_month(month) == following
