"""Pure checkin rules: no ORM, no clock."""

from __future__ import annotations
