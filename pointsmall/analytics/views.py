"""The time-on-page beacon: ``navigator.sendBeacon`` POSTs FormData here when a page is hidden."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.core import get_usage

from pointsmall.analytics import rules, services, visitors
from pointsmall.analytics.enums import PageType

RATE_GROUP = "analytics.beacon"


class BeaconForm(forms.Form):
    page_type = forms.ChoiceField(choices=PageType.choices)
    # Any whole number of milliseconds up to a day is well formed; the outlier rule is separate.
    ms = forms.IntegerField(min_value=0, max_value=24 * 3600 * 1000)


def _rate_key(group: str, request: HttpRequest) -> str:
    visitor, _ = visitors.visitor_of(request)
    return visitor or ""


@never_cache
@require_POST
def beacon(request: HttpRequest) -> HttpResponse:
    """204 for a well-formed sample (kept, or dropped as a bot or outlier); 400 for a malformed
    one, nothing written; 429 past ``ANALYTICS_BEACON_RATE`` per visitor."""
    form = BeaconForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("bad beacon", content_type="text/plain")
    visitor, _ = visitors.visitor_of(request)
    if visitor is None or rules.is_bot(request.headers.get("User-Agent", "")):
        # Only visitors whose page view was counted (they hold a member session or pm_vid) time pages.
        return HttpResponse(status=204)
    usage = get_usage(request, group=RATE_GROUP, key=_rate_key, rate=settings.ANALYTICS_BEACON_RATE, increment=True)
    if usage is not None and usage["should_limit"]:
        return HttpResponse(status=429)
    services.timing_record(page_type=form.cleaned_data["page_type"], milliseconds=form.cleaned_data["ms"])
    return HttpResponse(status=204)
