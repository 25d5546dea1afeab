from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from points import policies, selectors
from points.enums import HistoryFilter
from points.forms import HistoryFilterForm
from pointsmall.kernel.language import pick_language


def _enjoyed_tier(request: HttpRequest) -> tuple[str, str] | None:
    """(code, name) of the tier the member enjoys now, from the status the header reads anyway."""
    status = selectors.request_member_status(request)
    if status is None or status.tier is None:
        return None
    return status.tier.code, status.tier.name


@login_required
def my_points(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None)
    filters: dict = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    entries = selectors.history(
        user_id=request.user.pk,
        kind=filters.get("kind", HistoryFilter.ALL),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        page=filters.get("page", 1),
    )
    query = request.GET.copy()
    query.pop("page", None)
    dates = query.copy()
    dates.pop("kind", None)
    context = {
        "summary": selectors.balance_summary(user_id=request.user.pk, tier=_enjoyed_tier(request)),
        "form": form,
        "entries": entries,
        "current_kind": filters.get("kind", HistoryFilter.ALL),
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
