"""Flags that put a member in front of an operator (docs/decisions/0051)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from accounts.enums import RiskReason
from accounts.models import RiskFlag


@transaction.atomic
def risk_flag_raise(*, user_ids: Iterable[int], reason: RiskReason, evidence: dict[str, Any]) -> None:
    """Flag each member in ``user_ids`` for ``reason`` with ``evidence`` (JSON-able data: what the
    rule saw). A member who already has an open flag for this reason keeps it, evidence and all:
    safe to call again and again during one burst, and from concurrent requests (the open-flag
    unique constraint, ``INSERT … ON CONFLICT DO NOTHING``). Locks nothing."""
    ids = sorted(set(user_ids))
    if ids:
        rows = [RiskFlag(user_id=user_id, reason=reason, evidence=evidence) for user_id in ids]
        RiskFlag.objects.bulk_create(rows, ignore_conflicts=True)
