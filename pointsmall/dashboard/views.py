"""The dashboard's CSV exports (the page itself is the admin index: templates/admin/index.html)."""

from __future__ import annotations

import csv

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from pointsmall.dashboard import selectors
from pointsmall.kernel import clock
from pointsmall.kernel.csv import csv_cell

PERMISSION = "dashboard.view_dashboard"


def dashboard_allowed(user) -> bool:
    """Active staff with the "view dashboard" permission (superusers have every permission)."""
    return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))


def chart_csv(request: HttpRequest, chart: str) -> HttpResponse:
    """``/admin/dashboard/<chart>.csv?days=N``: the chart's numbers (the funnel: every product with
    its conversion rates). Staff with the dashboard permission only; the admin site's login first."""
    if not dashboard_allowed(request.user):
        raise PermissionDenied
    if chart not in selectors.CHARTS:
        raise Http404
    days = selectors.period_days(request.GET.get("days"))
    today = clock.business_date()
    if chart == "funnel":
        first = today.fromordinal(today.toordinal() - days + 1)
        rows = selectors.funnel_csv_rows(selectors.funnel_rows(first, today))
    else:
        rows = selectors.chart(chart, days=days, today=today).rows()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{chart}-{days}d-{today.isoformat()}.csv"'
    response["Cache-Control"] = "private, no-store"
    response.write("\ufeff")  # a BOM, so spreadsheet programs read the Chinese names as UTF-8
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([csv_cell(str(v) if not isinstance(v, int | float) else v) for v in row])
    return response
