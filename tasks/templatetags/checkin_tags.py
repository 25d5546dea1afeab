"""Helpers of the check-in page's templates."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def calendar_states(days) -> str:
    """What the calendar grid shows of its days, "2026-12-01:checked,…": the key its cached
    rendering is kept under (docs/decisions/0048). The make-up tokens are left out: the grid
    does not print them, and they are signed anew on every page."""
    return ",".join(f"{cell.day.isoformat()}:{cell.state}" for cell in days)
