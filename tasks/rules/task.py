"""Pure task rules: no ORM, no clock."""

from __future__ import annotations
