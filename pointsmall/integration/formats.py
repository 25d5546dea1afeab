"""How the host integration writes values in JSON, one rule for the API and the webhooks.

Instants: ISO 8601 in business time with its offset, to the second (``2026-12-01T12:15:00+08:00``;
never a fraction, so every instant has one shape whatever the clock said); dates:
ISO (``2026-12-31``); money: a string with two decimals (``"128.00"``, yuan).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pointsmall.kernel.clock import business_time


def instant(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return business_time(value).isoformat(timespec="seconds")
    return value.isoformat()


def money(value: Decimal | int) -> str:
    return f"{Decimal(value):.2f}"
