"""Drawing under real concurrency on Postgres: prize stock never below zero, never more winners than
the quantity or the day's release, one draw and one spend per request, and a consistent ledger.

64 members draw at once (64 threads, each with its own connection), every draw's number forced onto
the top prize so that they all race for the same prize row.
"""

from __future__ import annotations

from collections import Counter

import pytest

from lottery import rules, services
from lottery.models import Draw, DrawOutcome, LotteryPrize, PrizeKind, PrizeRelease
from points import services as points_services
from points.models import Entry
from tests import concurrency
from tests.lottery.core_helpers import balance, make_campaign, member_with, prize

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DRAWERS = 64


def run_together(calls) -> list[object]:
    return concurrency.run_together(calls, timeout=120)


@pytest.fixture
def top_prize_always(monkeypatch):
    monkeypatch.setattr(rules, "draw_number", lambda **kwargs: 0)


def _campaign(*, quantity: int, daily_cap: int | None = None):
    prizes = [
        {"name": "大奖", "kind": PrizeKind.POINTS, "points": 500, "weight_bp": 1000, "quantity": quantity,
         "daily_cap": daily_cap},
        {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 9000},
    ]  # fmt: skip
    from django.utils import timezone

    now = timezone.now()
    return make_campaign(prizes=prizes, now=now, starts_at=now - timezone.timedelta(hours=1))


def _draw_all(campaign, members):
    calls = [
        (lambda m=m: services.lottery_draw(user_id=m.pk, campaign_id=campaign.pk, idempotency_key=f"c{m.pk}"))
        for m in members
    ]
    return run_together(calls)


def test_64_drawers_never_take_more_than_the_stock(top_prize_always):
    campaign = _campaign(quantity=10)
    members = [member_with(100) for _ in range(DRAWERS)]
    results = _draw_all(campaign, members)
    assert Counter(type(r).__name__ for r in results) == {"DrawResult": DRAWERS}
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {DrawOutcome.WON: 10, DrawOutcome.FELL_THROUGH: DRAWERS - 10}
    top = prize(campaign, 0)
    assert top.remaining == 0
    assert Draw.objects.filter(prize=top).count() == 10
    assert Draw.objects.count() == DRAWERS
    assert Entry.objects.filter(reference__startswith="lottery.draw:", amount=500).count() == 10
    assert sorted(balance(m) for m in members) == [90] * (DRAWERS - 10) + [590] * 10
    report = points_services.points_verify()
    assert report.ok, report.violations


def test_64_drawers_never_pass_the_daily_release(top_prize_always):
    campaign = _campaign(quantity=50, daily_cap=7)
    members = [member_with(100) for _ in range(DRAWERS)]
    results = _draw_all(campaign, members)
    assert Counter(r.outcome for r in results) == {DrawOutcome.WON: 7, DrawOutcome.FELL_THROUGH: DRAWERS - 7}
    assert list(PrizeRelease.objects.values_list("released", flat=True)) == [7]
    assert LotteryPrize.objects.get(pk=prize(campaign, 0).pk).remaining == 43
    report = points_services.points_verify()
    assert report.ok, report.violations


def test_a_request_sent_many_times_at_once_is_one_draw_and_one_spend():
    campaign = _campaign(quantity=10)
    member = member_with(100)
    calls = [
        (lambda: services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key="double-click"))
        for _ in range(8)
    ]
    results = run_together(calls)
    assert Counter(type(r).__name__ for r in results) == {"DrawResult": 8}
    assert len({r.draw_id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    assert Draw.objects.count() == 1
    assert Entry.objects.filter(idempotency_key="lottery:double-click").count() == 1
    assert balance(member) in (90, 590)
    report = points_services.points_verify()
    assert report.ok, report.violations
