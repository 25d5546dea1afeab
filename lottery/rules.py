"""The lottery's pure rules: the provably fair number, the prize it picks, pity, χ².

No database, no clock, no randomness of their own: every function here is a function of its
arguments, so the verify page, the tests and the report recompute exactly what a draw did.
The formula (docs/decisions/0027-lottery.md):

    message = f"{draw_id}:{client_seed}:{nonce}"
    for k = 0, 1, 2, …:
        h = HMAC-SHA256(key=seed (its ASCII hex text), msg=f"{message}:{k}")
        x = int.from_bytes(h[:4], "big")
        if x < 4294960000 (= 429496 × 10000): number = x % 10000; stop
    (rejection sampling: every number 0…9999 is exactly equally likely)

The number picks the prize whose cumulative weight range [start, start + weight_bp) contains it,
prizes in (position, pk) order. A pity draw maps the same number onto the winning prizes in
stock only, scaled by their weights: index = number × total // 10000 in their cumulative ranges.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

BASIS_POINTS = 10_000
ACCEPT_BELOW = 429_496 * BASIS_POINTS  # 4294960000: the largest multiple of 10000 below 2**32
MAX_ROUNDS = 1000  # P(rejecting 1000 times) ≈ (7296 / 2**32)**1000: never


@dataclass(frozen=True)
class PrizeSpec:
    """What the rules need of a prize: its id, weight (basis points) and whether it is a win."""

    id: int
    weight_bp: int
    wins: bool = True  # False for a "no prize / thanks for playing" row


def seed_hash(seed: str) -> str:
    """SHA-256 of the seed's ASCII text, hex: what is published before the campaign starts."""
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def draw_message(draw_id: int, client_seed: str, nonce: int) -> str:
    return f"{draw_id}:{client_seed}:{nonce}"


def draw_number(*, seed: str, draw_id: int, client_seed: str, nonce: int) -> int:
    """The draw's number in 0…9999 (the formula above). Pure."""
    message = draw_message(draw_id, client_seed, nonce)
    key = seed.encode("ascii")
    for k in range(MAX_ROUNDS):
        digest = hmac.new(key, f"{message}:{k}".encode(), hashlib.sha256).digest()
        x = int.from_bytes(digest[:4], "big")
        if x < ACCEPT_BELOW:
            return x % BASIS_POINTS
    raise RuntimeError("HMAC rejection sampling did not terminate")  # pragma: no cover


def pick(number: int, prizes: Sequence[PrizeSpec]) -> PrizeSpec | None:
    """The prize whose cumulative range holds ``number`` (prizes in their published order).

    None when the weights add up to less than ``number`` needs (a campaign that was never
    valid). The mapping depends only on the published weights: stock never changes it.
    """
    if not 0 <= number < BASIS_POINTS:
        raise ValueError(f"number must be in 0…9999, not {number!r}")
    start = 0
    for prize in prizes:
        if prize.weight_bp <= 0:
            continue
        if number < start + prize.weight_bp:
            return prize
        start += prize.weight_bp
    return None


def pity_pick(number: int, prizes: Sequence[PrizeSpec]) -> PrizeSpec | None:
    """A pity draw: the same number mapped onto ``prizes`` (the winning prizes still in stock) by
    their weights: ``number × total // 10000`` in their cumulative ranges. None when there are none."""
    candidates = [p for p in prizes if p.wins and p.weight_bp > 0]
    total = sum(p.weight_bp for p in candidates)
    if not total:
        return None
    if not 0 <= number < BASIS_POINTS:
        raise ValueError(f"number must be in 0…9999, not {number!r}")
    target = number * total // BASIS_POINTS
    start = 0
    for prize in candidates:
        if target < start + prize.weight_bp:
            return prize
        start += prize.weight_bp
    return candidates[-1]  # pragma: no cover


def pity_due(*, pity_after: int | None, since_win: int) -> bool:
    """Whether this draw is guaranteed a win: ``pity_after`` draws in a row have not won."""
    return bool(pity_after) and since_win >= pity_after


def campaign_is_frozen(campaign) -> bool:
    """Published campaigns' terms and prizes never change (promotion rules). Pure."""
    return getattr(campaign, "published_at", None) is not None


def probability_text(weight_bp: int) -> str:
    """Basis points as a percentage with two decimals: 1250 → "12.50%"."""
    return f"{Decimal(weight_bp) / 100:.2f}%"


def win_rate_bp(prizes: Iterable[PrizeSpec]) -> int:
    """The chance of winning something other than "no prize", basis points."""
    return sum(p.weight_bp for p in prizes if p.wins)


# --- χ² goodness of fit ----------------------------------------------------------------------


def _gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) (Numerical Recipes: series / continued fraction)."""
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)


def chi_square_p_value(observed: Sequence[float], expected: Sequence[float]) -> float:
    """The p-value of Pearson's χ² test of ``observed`` counts against ``expected`` counts.

    Cells with an expected count of 0 are left out (an observation there gives p = 0).
    Degrees of freedom: the cells kept − 1. 1.0 when fewer than two cells remain.
    """
    if len(observed) != len(expected):
        raise ValueError("observed and expected must have the same length")
    statistic = 0.0
    cells = 0
    for seen, wanted in zip(observed, expected, strict=True):
        if wanted <= 0:
            if seen:
                return 0.0
            continue
        statistic += (seen - wanted) ** 2 / wanted
        cells += 1
    if cells < 2:
        return 1.0
    return _gamma_q((cells - 1) / 2, statistic / 2)
