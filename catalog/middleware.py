"""The cheapest possible "sold out": a flash item's redeem request answered before the session is read.

A sold-out flash sale's crowd is almost all losers (issue #18). Through the whole middleware
stack each of them cost the session read, the member, CSRF, messages, the page-view counter and
the layout's header (balance, notices) before the view even asked the gate: several times a
trivial page. ``FlashSoldOutMiddleware`` sits before the session middleware; for a request to
the redeem page (GET or POST) of a product whose Redis gate counter cannot cover the quantity
it answers at once with the member's message ("Sold out."), from one Redis round trip
(``flash_gate.early_refusal``), with no SQL and nothing written. It never sells: anything it
does not refuse goes on to the full path (the session, CSRF, the PIN before any sale, the
database's own stock check), unchanged.

What it gives up, on purpose: it does not know who asks, so a visitor who is not signed in is
told "sold out" instead of being sent to sign in (true, and public on the product page), and
the page is a small one without the member's header. The language is the browser's (the
language cookie, else Accept-Language), not the profile's, which needs the member. A request
whose form key already placed an order (a double click after the last unit sold) is let through
to get that order back (``flash_gate.placed_key``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import patch_vary_headers

from catalog import flash_gate

REDEEM_URL_NAME = "redeem_confirm"


def _redeem_product(request: HttpRequest) -> int | None:
    """The product id when the request is for the redeem page, else None (cheap test first)."""
    if request.method not in ("GET", "POST") or not request.path_info.endswith("/redeem/"):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.kwargs.get("pk") if match.url_name == REDEEM_URL_NAME else None


class FlashSoldOutMiddleware:
    """Answers a sold-out flash item's redeem request before the session, auth, CSRF and messages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        product_id = _redeem_product(request)
        if product_id is not None:
            data = request.POST if request.method == "POST" else request.GET
            try:
                quantity = int(data.get("quantity") or 1)
            except ValueError:
                quantity = 0  # the form says what is wrong with it: the full path answers
            if quantity >= 1:
                # A refusal's message is written in the language active when it is raised.
                language = translation.get_language_from_request(request)
                with translation.override(language):
                    refusal = flash_gate.early_refusal(
                        product_id=product_id, quantity=quantity, request_key=data.get("idempotency_key", "")
                    )
                    if refusal is not None:
                        return self._refused(refusal, language)
        return self.get_response(request)

    @staticmethod
    def _refused(refusal, language: str) -> HttpResponse:
        # The status the full path's refusal uses (200: the page re-shown with the reason), so a
        # browser, htmx and the benchmark read both alike.
        body = render_to_string("catalog/redeem_refused_early.html", {"refusal": refusal, "language": language})
        response = HttpResponse(body)
        response["Content-Language"] = language
        # Private and of the moment: the item may be restocked; never stored by a cache or proxy.
        response["Cache-Control"] = "no-store"
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response
