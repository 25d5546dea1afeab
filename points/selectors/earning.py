"""The earning rules' live amounts, for apps that pay by a rule and show what it pays."""

from __future__ import annotations

from points.enums import EarningSource
from points.models import EarningRule


def earning_points(*, source: str) -> int:
    """The fixed points the active rule of ``source`` pays now (before multipliers); 0 when the rule
    is missing or switched off. Raises ValueError for an unknown source. One query, no lock."""
    if source not in EarningSource.values:
        raise ValueError(f"unknown earning source {source!r}")
    rule = EarningRule.objects.filter(source=source).values_list("points", "active").first()
    if rule is None or not rule[1]:
        return 0
    return max(rule[0], 0)
