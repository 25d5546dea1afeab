"""The dashboard on the admin index: ``{% dashboard_for request as dash %}`` gives the page's data
for an operator allowed to see it, None for everyone else (they get the plain index)."""

from __future__ import annotations

from django import template

from pointsmall.dashboard import selectors
from pointsmall.dashboard.views import dashboard_allowed

register = template.Library()


@register.simple_tag
def dashboard_for(request) -> selectors.Dashboard | None:
    if request is None or not dashboard_allowed(request.user):
        return None
    return selectors.dashboard(days=selectors.period_days(request.GET.get("days")))
