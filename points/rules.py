"""Pure functions of the ledger: no ORM, no clock. The easiest code to test."""

from __future__ import annotations

import calendar
import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

from points.enums import EarningSource, ExpiryMode, ExpiryRounding


@dataclass(frozen=True)
class ExpiryRule:
    mode: str = ExpiryMode.ROLLING_MONTHS
    months: int = 12
    rounding: str = ExpiryRounding.END_OF_DAY


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time ``months`` later; the 31st or 29 Feb clamp to the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def expiry_for(earned_at: datetime, rule: ExpiryRule, zone: tzinfo) -> datetime | None:
    """The instant points earned at ``earned_at`` stop being spendable (exclusive), or None.

    Dates are the business dates of ``zone`` (the mall's TIME_ZONE): "end of day" is the
    next local midnight, whatever the server's clock zone.
    """
    if rule.mode == ExpiryMode.NEVER:
        return None
    local = earned_at.astimezone(zone)
    if rule.mode == ExpiryMode.CALENDAR_YEAR_END:
        return _start_of(date(local.year + 1, 1, 1), zone)
    target = add_months(local, rule.months)
    if rule.rounding == ExpiryRounding.END_OF_DAY:
        return _start_of(target.date() + timedelta(days=1), zone)
    if rule.rounding == ExpiryRounding.END_OF_MONTH:
        first_of_next = date(target.year + target.month // 12, target.month % 12 + 1, 1)
        return _start_of(first_of_next, zone)
    return target


def last_valid_day(expires_at: datetime, zone: tzinfo) -> date:
    """The last business date on which points expiring at ``expires_at`` can still be spent."""
    return (expires_at.astimezone(zone) - timedelta(microseconds=1)).date()


def take_fifo(lots: list[tuple[int, int]], amount: int) -> list[tuple[int, int]]:
    """Split ``amount`` over ``(lot_id, remaining)`` pairs already in spending order.

    Returns ``(lot_id, taken)`` pairs; the caller checked that the lots cover ``amount``.
    """
    takes = []
    left = amount
    for lot_id, remaining in lots:
        if left == 0:
            break
        take = min(remaining, left)
        if take > 0:
            takes.append((lot_id, take))
            left -= take
    return takes


# --- Earning, caps and tiers ------------------------------------------------------


def floor_points(value: Decimal) -> int:
    """Points are whole numbers and always rounded down (never in the member's disfavour twice)."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def purchase_base_value(lines: list[tuple[Decimal, Decimal]]) -> Decimal:
    """Σ amount × rate over a purchase's lines, exact (not rounded: multipliers still apply)."""
    return sum((amount * rate for amount, rate in lines), Decimal(0))


def purchase_base_points(lines: list[tuple[Decimal, Decimal]]) -> int:
    """Points for a purchase before multipliers: Σ amount × rate over its lines, rounded down once."""
    return floor_points(purchase_base_value(lines))


def boosted(base: int | Decimal, *multipliers: Decimal) -> int:
    """``base`` times every multiplier, rounded down once (tier × campaign, not floored twice).

    ``base`` may be a fraction (a purchase's exact Σ amount × rate): it is rounded only here,
    at the end, so ¥9.99 at ×2 earns 19, not 2 × 9 = 18 (docs/decisions/0007).
    """
    value = Decimal(base)
    for multiplier in multipliers:
        value *= multiplier
    return floor_points(value)


def cap_room(caps: dict[str, int | None], granted: dict[str, int]) -> int | None:
    """Points a member may still get under every cap (None: no cap applies)."""
    rooms = [max(cap - granted.get(period, 0), 0) for period, cap in caps.items() if cap is not None]
    return min(rooms) if rooms else None


def tier_rank_for(points: int, thresholds: list[tuple[int, int]]) -> int:
    """The highest tier rank whose threshold ``points`` reaches; ``thresholds`` are (rank, threshold)."""
    reached = [rank for rank, threshold in thresholds if points >= threshold]
    return max(reached) if reached else min(rank for rank, _t in thresholds)


def downgrade_rank(current: int, qualified: int, max_steps: int) -> int:
    """Where a monthly recalculation moves a member: up at once, down at most ``max_steps``."""
    if qualified >= current:
        return qualified
    return max(qualified, current - max_steps)


def points_to_take_back(points: int, amount: Decimal, refunded_total: Decimal) -> int:
    """Points a (partial) refund takes back in total, proportional and rounded down; all of them on a full refund."""
    if refunded_total >= amount:
        return points
    return floor_points(Decimal(points) * refunded_total / amount)


def refund_points_target(
    *,
    points: int,
    amount: Decimal,
    refunded_total: Decimal,
    refunded_by_amount: Decimal,
    items: list[tuple[Decimal, Decimal, Decimal]],
) -> int:
    """Points all of a purchase's refunds so far take back, in total (docs/decisions/0034).

    ``items``: ``(amount, refunded, base_value)`` per item. A refund by amount takes back the
    purchase's average share (``refunded_by_amount / amount``); an item refund its item's own
    share of the exact base value (an excluded item: nothing). The shares add up, exactly
    (fractions, no rounding on the way), are capped at the whole purchase, and the points are
    rounded down once; a purchase refunded in full takes back every point. Computed from the
    cumulative totals every time, so the sum of refunds never drifts from this target.
    """
    if refunded_total >= amount:
        return points
    share = Fraction(refunded_by_amount) / Fraction(amount)
    total_value = sum((Fraction(value) for _a, _r, value in items), Fraction(0))
    if total_value > 0:
        share += (
            sum(
                (
                    Fraction(value) * Fraction(refunded) / Fraction(item_amount)
                    for item_amount, refunded, value in items
                ),
                Fraction(0),
            )
            / total_value
        )
    return min(points, math.floor(points * share))


def usable_identities(identities: Iterable[str]) -> list[str]:
    """The identities (``kind:value``) that name someone: not empty, and a value after the kind
    that is not blank (``"email:"`` or ``"phone:  "`` name nobody and are never claimed or matched)."""
    return [i for i in identities if i and i.split(":", 1)[-1].strip()]


def identity_hash(identity: str, secret: str) -> str:
    """A stable, non-reversible id of an identity (``email:…``, ``phone:…``) for once-per-person
    rewards: trimmed, lower-cased and hashed with ``secret`` (the SECRET_KEY), so the claim
    tables hold no personal data. Callers pass identities already normalised (accounts.rules)."""
    normalised = identity.strip().lower()
    return hashlib.sha256(f"{secret}:{normalised}".encode()).hexdigest()


# --- Campaigns --------------------------------------------------------------------------


def campaign_sources(raw: object) -> frozenset[str] | None:
    """The earning sources a campaign's stored ``sources`` value names; None means every source.

    Read defensively: whatever a row holds (written before validation existed, or by hand),
    an earning or a page must not crash on it, and a value that names nothing known gives
    nothing extra. Empty (``[]``, ``""``, null) is every source; a list keeps its known
    codes; a string is read as codes separated by anything else (``"purchase,checkin"``),
    matched whole, so ``"first_purchase"`` never matches ``purchase``; anything else (a
    number, an object) names no source.
    """
    if raw is None or raw == [] or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        items: list[object] = re.findall(r"[a-z_]+", raw.lower())
    elif isinstance(raw, list):
        items = raw
    else:
        return frozenset()
    known = set(EarningSource.values)
    return frozenset(item for item in items if isinstance(item, str) and item in known)


def history_range(*, today: date, key: str) -> tuple[date, date]:
    """The first and last day of a quick history range ending ``today``: ``7d`` and ``30d`` are
    that many days counting today; ``3m`` starts on the same day 3 months back (the month's last
    day when it is shorter) plus one. Raises KeyError for another key."""
    if key == "3m":
        year, month = (today.year, today.month - 3) if today.month > 3 else (today.year - 1, today.month + 9)
        day = min(today.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(days=1), today
    days = {"7d": 7, "30d": 30}[key]
    return today - timedelta(days=days - 1), today
