"""Fairness: the pick against the published odds (χ² over 10⁶ numbers), odds that never re-spread,
and commit–reveal verification of every draw of a finished campaign."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta

import pytest
import time_machine

from lottery import rules, selectors, services
from lottery.models import Draw, DrawOutcome, LotteryCampaign, LotteryPrize, PrizeKind
from lottery.rules import PrizeSpec
from tests.lottery.core_helpers import T0, draw, make_campaign, member_with, prize

N = 1_000_000
ODDS = [PrizeSpec(1, 50), PrizeSpec(2, 450), PrizeSpec(3, 1500), PrizeSpec(4, 3000), PrizeSpec(5, 5000, wins=False)]


def _expected(n: int) -> list[float]:
    return [n * p.weight_bp / rules.BASIS_POINTS for p in ODDS]


def _observed(numbers) -> list[int]:
    counts = Counter(rules.pick(number, ODDS).id for number in numbers)
    return [counts[p.id] for p in ODDS]


def _uniform_numbers(n: int):
    """Uniform numbers 0…9999 from SHA-256 in counter mode (8 bytes: bias < 10⁻¹⁵), reproducible: a fixed
    stream, so the test gives the same answer every run (a fresh ``secrets`` stream would fail 1% of runs)."""
    for i in range(n):
        yield int.from_bytes(hashlib.sha256(b"u:%d" % i).digest()[:8], "big") % rules.BASIS_POINTS


def test_pick_over_a_million_uniform_numbers_matches_the_published_odds():
    observed = _observed(_uniform_numbers(N))
    assert sum(observed) == N
    assert rules.chi_square_p_value(observed, _expected(N)) > 0.01


def test_pick_over_a_million_hmac_numbers_matches_the_published_odds():
    seed = hashlib.sha256(b"fairness test seed").hexdigest()
    numbers = [rules.draw_number(seed=seed, draw_id=i, client_seed="member", nonce=1) for i in range(1, N + 1)]
    observed = _observed(numbers)
    assert rules.chi_square_p_value(observed, _expected(N)) > 0.01
    # The numbers themselves are uniform over 100 buckets of 100.
    buckets = Counter(number // 100 for number in numbers)
    assert rules.chi_square_p_value([buckets[b] for b in range(100)], [N / 100] * 100) > 0.01


def test_a_biased_pick_is_caught():
    """The test has teeth: shifting 0.1% of the space from one prize to another fails it."""
    shifted = [
        PrizeSpec(1, 50),
        PrizeSpec(2, 460),
        PrizeSpec(3, 1490),
        PrizeSpec(4, 3000),
        PrizeSpec(5, 5000, wins=False),
    ]
    counts = Counter(rules.pick(number, shifted).id for number in _uniform_numbers(N))
    assert rules.chi_square_p_value([counts[p.id] for p in ODDS], _expected(N)) < 0.01


@pytest.mark.django_db
def test_a_sold_out_prize_does_not_change_the_others_odds(monkeypatch):
    """Every number keeps the prize the published weights give it; the sold-out prize's numbers fall through."""
    with time_machine.travel(T0, tick=False):
        campaign = make_campaign()
        LotteryPrize.objects.filter(pk=prize(campaign, 0).pk).update(remaining=0)
        specs = [
            PrizeSpec(p.pk, p.weight_bp, wins=p.kind != PrizeKind.NONE) for p in campaign.prizes.order_by("position")
        ]
        member = member_with(10_000)
        numbers = [0, 500, 999, 1000, 2000, 2999, 3000, 9999]
        queue = list(numbers)
        monkeypatch.setattr(rules, "draw_number", lambda **kwargs: queue.pop(0))
        results = [draw(member, campaign) for _ in numbers]
    for number, result in zip(numbers, results, strict=True):
        row = Draw.objects.get(pk=result.draw_id)
        assert row.picked_id == rules.pick(number, specs).id
    assert [r.outcome for r in results] == [DrawOutcome.FELL_THROUGH] * 3 + [DrawOutcome.WON] * 3 + [
        DrawOutcome.NO_PRIZE
    ] * 2
    assert [r.prize_id for r in results[3:6]] == [prize(campaign, 1).pk] * 3


@pytest.mark.django_db
def test_commit_reveal_recomputes_every_draw_of_a_finished_campaign():
    with time_machine.travel(T0, tick=False):
        campaign = make_campaign(pity_after=2, ends_at=T0 + timedelta(hours=1))
        members = [member_with(1000) for _ in range(3)]
        for i in range(12):
            draw(members[i % 3], campaign, client_seed=f"seed-{i}" if i % 2 else "")
        hidden = selectors.draw_proof(campaign_id=campaign.pk)
        assert (hidden.revealed, hidden.seed, hidden.ok) == (False, "", False)
        assert [d.recomputed_number for d in hidden.draws] == [None] * 12
        assert services.lottery_seeds_reveal() == 0  # still running
    with time_machine.travel(T0 + timedelta(hours=1, minutes=10), tick=False):
        assert services.lottery_seeds_reveal() == 1
    proof = selectors.draw_proof(campaign_id=campaign.pk)
    assert (proof.revealed, proof.seed_matches, proof.ok, len(proof.draws)) == (True, True, True, 12)
    assert proof.seed == LotteryCampaign.objects.get(pk=campaign.pk).seed
    assert all(d.ok and d.recomputed_number == d.number for d in proof.draws)
    first = proof.draws[0]
    assert (
        selectors.draw_verify(seed=proof.seed, draw_id=first.draw_id, client_seed=first.client_seed, nonce=first.nonce)
        == first.number
    )
    assert selectors.campaign_page(campaign_id=campaign.pk).seed == proof.seed
    # A stored outcome that does not follow from the seed is caught …
    victim = next(d for d in proof.draws if not d.pity)
    Draw.objects.filter(pk=victim.draw_id).update(number=(victim.number + 1) % 10_000)
    proof = selectors.draw_proof(campaign_id=campaign.pk)
    assert not proof.ok
    assert [d.draw_id for d in proof.draws if not d.ok] == [victim.draw_id]
    # … and so is a seed that is not the one committed to.
    LotteryCampaign.objects.filter(pk=campaign.pk).update(seed="0" * 64)
    tampered = selectors.draw_proof(campaign_id=campaign.pk)
    assert (tampered.seed_matches, tampered.ok) == (False, False)
    assert not any(d.ok for d in tampered.draws)
