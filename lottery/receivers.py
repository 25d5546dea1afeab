"""What the lottery does when the ledger announces something (its signals; the arrows go one way)."""

from __future__ import annotations

from decimal import Decimal

from django.dispatch import receiver

from lottery.selectors.reports import over_cap_warnings
from points.signals import point_value_changed


@receiver(point_value_changed)
def warn_prizes_over_cap(sender, new: Decimal, **kwargs) -> list[str]:
    """The operator's warnings after a change of the point value: one per prize of a live campaign
    the new value puts above the top-prize cap (the publication's check ran at the old value)."""
    return over_cap_warnings(point_value_yuan=new)
