"""The dashboard on the admin index: ``{% dashboard_for request as dash %}`` gives the page's data
for an operator allowed to see it, None for everyone else (they get the plain index)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import numberformat

from pointsmall.dashboard import selectors
from pointsmall.dashboard.views import dashboard_allowed

register = template.Library()


@register.simple_tag
def dashboard_for(request) -> selectors.Dashboard | None:
    if request is None or not dashboard_allowed(request.user):
        return None
    return selectors.dashboard(days=selectors.period_days(request.GET.get("days")))


@register.filter
def grouped(value: object, decimals: object = None) -> str:
    """``{{ n|grouped }}`` / ``{{ yuan|grouped:2 }}``: the number with its thousands grouped by
    commas in both languages (24,429; 1,234.50). ``intcomma`` does not group in Chinese: Django's
    zh-hans format has no thousands separator and groups by four. "" for no value; a value that
    is not a number, unchanged."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    places = int(str(decimals)) if decimals not in (None, "") else None
    return numberformat.format(
        number, ".", decimal_pos=places, grouping=3, thousand_sep=",", force_grouping=True, use_l10n=False
    )
