"""The lottery's pure rules: the formula, the pick, pity, χ², and no ``random`` anywhere."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from lottery import rules
from lottery.rules import PrizeSpec

PRIZES = [PrizeSpec(1, 1000), PrizeSpec(2, 2000), PrizeSpec(3, 7000, wins=False)]
ROOT = Path(__file__).resolve().parents[2]


def test_pick_uses_cumulative_ranges_in_published_order():
    assert [rules.pick(n, PRIZES).id for n in (0, 999, 1000, 2999, 3000, 9999)] == [1, 1, 2, 2, 3, 3]


def test_pick_skips_zero_weights_and_refuses_numbers_out_of_range():
    prizes = [PrizeSpec(9, 0), *PRIZES]
    assert rules.pick(0, prizes).id == 1
    with pytest.raises(ValueError):
        rules.pick(10_000, PRIZES)
    assert rules.pick(9999, [PrizeSpec(1, 5000)]) is None


def test_pity_pick_maps_the_number_onto_winning_prizes_by_weight():
    # Winning weights 1000 and 2000: numbers 0…3333 → prize 1, 3334…9999 → prize 2.
    assert rules.pity_pick(0, PRIZES).id == 1
    assert rules.pity_pick(3333, PRIZES).id == 1
    assert rules.pity_pick(3334, PRIZES).id == 2
    assert rules.pity_pick(9999, PRIZES).id == 2
    assert rules.pity_pick(5, [PrizeSpec(3, 7000, wins=False)]) is None


def test_pity_due():
    assert rules.pity_due(pity_after=3, since_win=3)
    assert not rules.pity_due(pity_after=3, since_win=2)
    assert not rules.pity_due(pity_after=None, since_win=100)


def test_draw_number_is_the_documented_formula():
    seed = "ab" * 32
    expected = None
    for k in range(10):
        x = int.from_bytes(hmac.new(seed.encode(), f"7:alice:3:{k}".encode(), hashlib.sha256).digest()[:4], "big")
        if x < 4294960000:
            expected = x % 10000
            break
    assert rules.draw_number(seed=seed, draw_id=7, client_seed="alice", nonce=3) == expected
    assert 0 <= expected <= 9999


def test_draw_number_rejects_values_above_the_last_full_block(monkeypatch):
    """Rejection sampling: a first HMAC at or above 4294960000 is skipped for the next counter."""
    calls = []
    real_new = hmac.new

    class Fake:
        def __init__(self, digest):
            self._digest = digest

        def digest(self):
            return self._digest

    def fake_new(key, msg, digestmod):
        calls.append(msg)
        if msg.endswith(b":0"):
            return Fake((4294960000).to_bytes(4, "big") + b"\0" * 28)
        return Fake((4294959999).to_bytes(4, "big") + b"\0" * 28)

    monkeypatch.setattr(rules.hmac, "new", fake_new)
    assert rules.draw_number(seed="00", draw_id=1, client_seed="", nonce=1) == 4294959999 % 10000 == 9999
    assert calls == [b"1::1:0", b"1::1:1"]
    monkeypatch.setattr(rules.hmac, "new", real_new)


def test_seed_hash_is_sha256_of_the_hex_text():
    assert rules.seed_hash("abc") == hashlib.sha256(b"abc").hexdigest()


def test_probability_text_and_win_rate():
    assert rules.probability_text(1250) == "12.50%"
    assert rules.probability_text(10000) == "100.00%"
    assert rules.win_rate_bp(PRIZES) == 3000


def test_campaign_is_frozen_once_published():
    assert not rules.campaign_is_frozen(SimpleNamespace(published_at=None))
    assert rules.campaign_is_frozen(SimpleNamespace(published_at="2026-05-01"))


@pytest.mark.parametrize(
    ("observed", "expected", "p"),
    [
        ([100, 100], [100, 100], 1.0),
        ([90, 110], [100, 100], math.erfc(1)),  # χ² = 2, 1 df: erfc(√(χ²/2))
        ([30, 20, 50], [25, 25, 50], math.exp(-1)),  # χ² = 2, 2 df: e^(−χ²/2)
        ([0, 200], [100, 100], math.erfc(10)),  # χ² = 200
    ],
)
def test_chi_square_p_value(observed, expected, p):
    assert rules.chi_square_p_value(observed, expected) == pytest.approx(p, rel=1e-4)


def test_chi_square_p_value_even_degrees_of_freedom_in_closed_form():
    """For 2m degrees of freedom Q = e^(−x/2) Σ_{i<m} (x/2)^i / i!: both branches of the gamma function."""
    # 5 cells, χ² = 4, 4 df (the series branch).
    assert rules.chi_square_p_value([110, 90, 110, 90, 100], [100] * 5) == pytest.approx(math.exp(-2) * 3, rel=1e-9)
    # 11 cells, χ² = 40, 10 df (the continued fraction branch).
    closed = math.exp(-20) * sum(20**i / math.factorial(i) for i in range(5))
    assert rules.chi_square_p_value([120, 80] * 5 + [100], [100] * 11) == pytest.approx(closed, rel=1e-9)
    assert rules.chi_square_p_value([5, 0], [5, 0]) == 1.0
    assert rules.chi_square_p_value([4, 1], [5, 0]) == 0.0


FORBIDDEN = re.compile(r"^\s*(import random\b|from random\b)|\brandom\.", re.MULTILINE)


def test_no_random_module_in_the_lottery_or_its_fulfilment():
    files = [
        *sorted((ROOT / "lottery").rglob("*.py")),
        ROOT / "catalog/services/prizes.py",
        ROOT / "pointsmall/wiring.py",
    ]
    assert len(files) > 10
    offenders = [str(path.relative_to(ROOT)) for path in files if FORBIDDEN.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
