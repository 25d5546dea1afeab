"""The leaderboard's writes: the snapshot refresh and the monthly prizes (docs/decisions/0026)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.enums import NotificationKind
from accounts.services import notification_send
from points import selectors as points_selectors
from points import services as points_services
from points.enums import EarningSource
from pointsmall.kernel import clock
from pointsmall.kernel.singleton import SINGLETON_PK
from tasks.exceptions import LeaderboardMonthNotOverError
from tasks.models import (
    Board,
    LeaderboardExclusion,
    LeaderboardPayout,
    LeaderboardPolicy,
    LeaderboardPrize,
    LeaderboardStanding,
)
from tasks.notices import leaderboard as notices
from tasks.rules import leaderboard as rules
from tasks.selectors.leaderboard import board_period

__all__ = ["PayoutReport", "RefreshReport", "leaderboard_pay_monthly", "leaderboard_refresh"]


@dataclass(frozen=True)
class RefreshReport:
    refreshed_at: datetime
    ranked: dict[str, int]  # board → members on it


@dataclass(frozen=True)
class PayoutReport:
    month: date
    enabled: bool
    paid: int  # members paid by this call
    points: int  # points paid by this call
    already_paid: int  # members paid for the month before this call


def _policy_for_update() -> LeaderboardPolicy:
    """The policy row, locked: the mutex of two refreshes (created with its defaults if no
    operator saved it yet)."""
    LeaderboardPolicy.objects.get_or_create(pk=SINGLETON_PK)
    return LeaderboardPolicy.objects.select_for_update().get(pk=SINGLETON_PK)


def _excluded_ids() -> list[int]:
    return list(LeaderboardExclusion.objects.values_list("member_id", flat=True))


@transaction.atomic
def leaderboard_refresh(*, now: datetime | None = None) -> RefreshReport:
    """Rebuild the snapshot of every board (week, month, all time) from the ledger.

    Each board's rows are replaced by the current period's ranking of every member who earned
    points in it (competition ranks), less inactive users, staff (by the policy) and operators'
    exclusions. Locks the policy row, so two refreshes run one after the other. Safe to call
    twice: the second writes the same standings with a later ``refreshed_at``.
    """
    now = now or timezone.now()
    policy = _policy_for_update()
    excluded = _excluded_ids()
    ranked: dict[str, int] = {}
    for board in Board.values:
        period_start, since = board_period(board, now)
        ranking = points_selectors.earned_ranking(
            since=since, exclude_user_ids=excluded, exclude_staff=policy.exclude_staff
        )
        ranks = rules.competition_ranks([points for _user, points in ranking])
        LeaderboardStanding.objects.filter(board=board).delete()
        LeaderboardStanding.objects.bulk_create(
            [
                LeaderboardStanding(
                    board=board,
                    period_start=period_start,
                    rank=rank,
                    member_id=user_id,
                    points=points,
                    refreshed_at=now,
                )
                for (user_id, points), rank in zip(ranking, ranks, strict=True)
            ],
            batch_size=1000,
        )
        ranked[board] = len(ranking)
    return RefreshReport(refreshed_at=now, ranked=ranked)


def leaderboard_pay_monthly(*, now: datetime | None = None, month: date | None = None) -> PayoutReport:
    """Pay the prizes of a month's board: by default the business month before ``now``.

    The final standings are computed afresh from the ledger for that month (not the snapshot),
    with the exclusions and staff rule as they are now. Every member whose rank falls in a
    prize band gets its points (members sharing a rank all get that rank's prize), through
    ``points_earn`` (source ``leaderboard``, no multipliers) with the key
    ``leaderboard:YYYY-MM:<user id>``, a ``LeaderboardPayout`` row and an inbox message.
    Nothing is paid while the policy's monthly prizes are off or no band is set.

    Raises LeaderboardMonthNotOverError for the current or a future month. Each winner is paid
    in a transaction of their own (their points account, then the payout row), so a winner's
    account is locked only while they are paid, never for the whole payout. Safe to call twice
    and on several workers: a member is paid once per month (the earn's idempotency key and
    the payout row, checked under the member's lock).
    """
    now = now or timezone.now()
    current = clock.period_start(now, "month").date()
    month = (month or rules.previous_month(current)).replace(day=1)
    code = notices.month_code(month)
    if month >= current:
        raise LeaderboardMonthNotOverError(month=code)
    # Read, not locked: each winner is paid under their own lock (created with its defaults if unsaved).
    policy, _created = LeaderboardPolicy.objects.get_or_create(pk=SINGLETON_PK)
    paid_before = set(LeaderboardPayout.objects.filter(month=month).values_list("member_id", flat=True))
    bands = list(LeaderboardPrize.objects.order_by("rank_from").values_list("rank_from", "rank_to", "points"))
    if not policy.monthly_rewards or not bands:
        return PayoutReport(
            month=month, enabled=policy.monthly_rewards, paid=0, points=0, already_paid=len(paid_before)
        )
    last_rank = max(rank_to for _from, rank_to, _points in bands)
    ranking = points_selectors.earned_ranking(
        since=clock.business_day_start(month),
        until=clock.business_day_start(rules.next_month(month)),
        exclude_user_ids=_excluded_ids(),
        exclude_staff=policy.exclude_staff,
    )
    ranks = rules.competition_ranks([points for _user, points in ranking])
    paid = paid_points = 0
    for (user_id, _earned), rank in zip(ranking, ranks, strict=True):
        if rank > last_rank:
            break
        prize = rules.prize_for_rank(rank, bands)
        if prize <= 0 or user_id in paid_before:
            continue
        if _pay_winner(user_id=user_id, month=month, rank=rank, prize=prize):
            paid += 1
            paid_points += prize
    return PayoutReport(month=month, enabled=True, paid=paid, points=paid_points, already_paid=len(paid_before))


@transaction.atomic
def _pay_winner(*, user_id: int, month: date, rank: int, prize: int) -> bool:
    """Pay one winner; False when another run paid them first. Locks: the member's account."""
    code = notices.month_code(month)
    receipt = points_services.points_earn(
        user_id=user_id,
        amount=prize,
        idempotency_key=f"leaderboard:{code}:{user_id}",
        source=EarningSource.LEADERBOARD,
        **notices.prize_memo(month=month, rank=rank).memo,
    )
    # Under the member's lock: a concurrent run that paid them has committed its row by now.
    if LeaderboardPayout.objects.filter(month=month, member_id=user_id).exists():
        return False
    LeaderboardPayout.objects.create(month=month, member_id=user_id, rank=rank, points=prize, entry_id=receipt.entry_id)
    notification_send(
        user_id=user_id,
        kind=NotificationKind.ACTIVITY,
        **notices.prize_message(month=month, rank=rank, points=prize).message,
        link=reverse("leaderboard") + "?board=month",
        dedupe_key=f"leaderboard:{code}",
    )
    return True
