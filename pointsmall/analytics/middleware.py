"""Counts member page views (docs/decisions/0028-traffic-analytics.md).

A view is counted for a GET that a member page answered 200 with HTML, from a client that is not
a bot, and is not an htmx partial. Admin, staff, payment-callback, static and media paths are
never counted (``settings.ANALYTICS_EXCLUDED_PATHS``). Analytics never fails a request: any
error is logged and the response goes out unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from pointsmall.analytics import rules, services, visitors

logger = logging.getLogger(__name__)

EXCLUDED_NAMESPACES = frozenset({"admin", "analytics", "dashboard"})


def _countable_route(request: HttpRequest) -> bool:
    if request.method != "GET" or request.path.startswith(tuple(settings.ANALYTICS_EXCLUDED_PATHS)):
        return False
    match = request.resolver_match
    if match is None or EXCLUDED_NAMESPACES.intersection(match.namespaces):
        return False
    return not getattr(request, "htmx", False) and request.headers.get("HX-Request") != "true"


class PageViewMiddleware:
    """Marks member pages with their page type (``request.analytics_page_type``, which base.html
    hands to the time-on-page beacon) and counts their views after the response is made."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if _countable_route(request):
            request.analytics_page_type = rules.page_type_for(request.resolver_match.url_name).value  # type: ignore[attr-defined, union-attr]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        page_type = getattr(request, "analytics_page_type", None)
        if (
            page_type
            and response.status_code == 200
            and response.get("Content-Type", "").startswith("text/html")
            and not rules.is_bot(request.headers.get("User-Agent", ""))
        ):
            try:
                self._count(request, response, page_type)
            except Exception:
                logger.exception("analytics: page view not counted")
        return response

    def _count(self, request: HttpRequest, response: HttpResponse, page_type: str) -> None:
        visitor, new_cookie = visitors.visitor_for_view(request)
        url_name = request.resolver_match.url_name  # type: ignore[union-attr]
        product_id = None
        if url_name in rules.PRODUCT_PAGES:
            pk = request.resolver_match.kwargs.get("pk")  # type: ignore[union-attr]
            product_id = int(pk) if pk is not None else None
        services.view_record(
            page_type=page_type,
            visitor=visitor,
            product_id=product_id,
            redeem_start=url_name in rules.REDEEM_START_PAGES,
        )
        if new_cookie is not None:
            visitors.set_cookie(response, new_cookie)
            # A response that sets a visitor's own cookie must not be served to anyone else.
            patch_cache_control(response, private=True)
