from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from points import policies, selectors
from points.enums import HistoryFilter
from points.forms import HISTORY_RANGES, HistoryDatesForm, history_filters
from pointsmall.kernel import clock
from pointsmall.kernel.language import pick_language


def _enjoyed_tier(request: HttpRequest) -> tuple[str, str] | None:
    """(code, name) of the tier the member enjoys now, from the status the header reads anyway."""
    status = selectors.request_member_status(request)
    if status is None or status.tier is None:
        return None
    return status.tier.code, status.tier.name


@login_required
def my_points(request: HttpRequest) -> HttpResponse:
    today = clock.business_date()
    filters = history_filters(request.GET, today=today)
    entries = selectors.history(
        user_id=request.user.pk,
        kind=filters.kind,
        date_from=filters.date_from,
        date_to=filters.date_to,
        page=filters.page,
    )
    # Links keep what applied and drop what was ignored: a bad date is said once, not carried along.
    dates = QueryDict(mutable=True)
    if filters.range in HISTORY_RANGES:
        dates["range"] = filters.range
    else:
        for name in ("date_from", "date_to"):
            if value := getattr(filters, name):
                dates[name] = value.isoformat()
    query = dates.copy()
    query["kind"] = filters.kind
    context = {
        "summary": selectors.balance_summary(user_id=request.user.pk, tier=_enjoyed_tier(request)),
        "filters": filters,
        "dates_form": HistoryDatesForm(),
        # The custom range starts from what applies now (else the last 30 days): real dates in the
        # browser's own format, never an empty "mm/dd/yyyy" to decipher.
        "custom_from": (filters.date_from or today - timedelta(days=29)).isoformat(),
        "custom_to": (filters.date_to or today).isoformat(),
        "ranges": list(HISTORY_RANGES.items()),
        "range_label": HISTORY_RANGES.get(filters.range, ""),
        "sheet_open": request.GET.get("sheet") == "dates",
        "today": today.isoformat(),
        "entries": entries,
        "current_kind": filters.kind,
        "kinds": HistoryFilter.choices,
        "query": query.urlencode(),
        "dates_query": dates.urlencode(),
    }
    template = "points/partials/history.html" if request.htmx else "points/my_points.html"
    return render(request, template, context)


@login_required
def my_tier(request: HttpRequest) -> HttpResponse:
    return render(request, "points/my_tier.html", {"status": selectors.tier_status(user_id=request.user.pk)})


def rules_page(request: HttpRequest) -> HttpResponse:
    page = policies.rules_page()
    return render(
        request,
        "points/rules.html",
        {
            "title": pick_language(zh=page.title_zh, en=page.title_en),
            "body": pick_language(zh=page.body_zh, en=page.body_en),
            "live": selectors.live_rules(),
        },
    )
