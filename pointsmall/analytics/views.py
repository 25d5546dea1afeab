"""The time-on-page beacon: ``navigator.sendBeacon`` POSTs FormData here when a page is hidden."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.core import get_usage

from pointsmall.analytics import rules, services, visitors
from pointsmall.analytics.enums import PageType

logger = logging.getLogger(__name__)

RATE_GROUP = "analytics.beacon"
IP_RATE_GROUP = "analytics.beacon.ip"


class BeaconForm(forms.Form):
    page_type = forms.ChoiceField(choices=PageType.choices)
    # Any whole number of milliseconds up to a day is well formed; the outlier rule is separate.
    ms = forms.IntegerField(min_value=0, max_value=24 * 3600 * 1000)


def _visitor_key(group: str, request: HttpRequest) -> str:
    visitor, _ = visitors.visitor_of(request)
    return visitor or ""


def _client_key(group: str, request: HttpRequest) -> str:
    return visitors.client_network(request)


def _limited(request: HttpRequest, *, group: str, key, rate: str) -> bool:
    """Count one beacon against ``rate`` in the cache; whether it is past it. Raises whatever
    the cache raises (the caller drops the sample)."""
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    return usage is not None and bool(usage["should_limit"])


@never_cache
@require_POST
def beacon(request: HttpRequest) -> HttpResponse:
    """204 for a well-formed sample (kept, or dropped: a bot, an outlier, a client without a
    counted view, a cache that does not answer); 400 for a malformed one, nothing written; 429
    past ``ANALYTICS_BEACON_IP_RATE`` per client address or ``ANALYTICS_BEACON_RATE`` per visitor."""
    form = BeaconForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("bad beacon", content_type="text/plain")
    if rules.is_bot(request.headers.get("User-Agent", "")):
        return HttpResponse(status=204)
    try:
        # Per client address first: every beacon counts, so minting visitor ids (or sending
        # made-up ones) cannot get one client past it.
        if _limited(request, group=IP_RATE_GROUP, key=_client_key, rate=settings.ANALYTICS_BEACON_IP_RATE):
            return HttpResponse(status=429)
        visitor, _ = visitors.visitor_of(request)
        if visitor is None:
            # Only a member session or a pm_vid the mall signed on a counted page view times pages.
            return HttpResponse(status=204)
        if _limited(request, group=RATE_GROUP, key=_visitor_key, rate=settings.ANALYTICS_BEACON_RATE):
            return HttpResponse(status=429)
    except Exception:
        # No cache, no rate limit: the sample is dropped rather than kept unlimited (0028).
        logger.warning("analytics: beacon dropped, the rate-limit cache failed", exc_info=True)
        return HttpResponse(status=204)
    services.timing_record(page_type=form.cleaned_data["page_type"], milliseconds=form.cleaned_data["ms"])
    return HttpResponse(status=204)
