"""The redeem request's cheap front door (issue #18): "sold out" and "busy" before the session is read.

A flash sale's crowd is almost all losers. Through the whole middleware stack each of them cost
the session read, the member, CSRF, messages, the page-view counter and the layout's header
(balance, notices) before the view even asked the gate: several times a trivial page. And the
crowd arrives before the stock is sold, so asking "is it sold out yet?" was not enough: the
counter only reached 0 once the winners' sales had run, seconds later.

``RedeemGateMiddleware`` sits before the session middleware. For the redeem page of a product:

- a signed-in member's POST of one unit of a flash item reserves it in the Redis gate as it
  arrives (``flash_gate.reserve``: the session from its cache, then one round trip; one
  reservation per member), so the first buyers take the stock in arrival order
  and every later one hears "sold out" at once, with no SQL and nothing written; the
  reservation is claimed by the sale (after the PIN, in the database) or given back;
- a GET of a flash item the gate says is sold out gets the same page (``flash_gate.early_refusal``);
- every POST then takes one of ``ADMISSION_REDEEM_SLOTS`` places (``pointsmall.kernel.admission``)
  for the rest of the request, or is told at once "busy, try again in N seconds" (503 +
  ``Retry-After``), equally cheaply. A buyer who reserved units keeps them while it retries.

It never sells: whatever it lets through goes on to the full path (the session, CSRF, the PIN
before any sale, the database's own stock check), unchanged.

What it gives up, on purpose: it does not know who asks, so a visitor who is not signed in is
told "sold out" (true, and public on the product page) instead of being sent to sign in, and the
pages are small ones without the member's header; the language is the browser's (the language
cookie, else Accept-Language), not the profile's, which needs the member. A request whose form
key already placed an order (a double click after the last unit sold) is let through to get that
order back (``flash_gate.placed_key``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import patch_vary_headers

from catalog import flash_gate
from pointsmall.kernel import admission
from pointsmall.kernel.admission import BusyError

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


def _session_member(request: HttpRequest) -> int | None:
    """The signed-in member's id from the session, or None: read from the session cache
    (``cached_db``: a Redis GET, the database only on a miss), without loading the member. Only a
    reservation is decided on it; the view still checks the session in full (auth hash, CSRF)."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        return int(store.get(SESSION_KEY))
    except (TypeError, ValueError):
        return None


def _private(response: HttpResponse, language: str) -> HttpResponse:
    response["Content-Language"] = language
    # Of the moment and about this buyer: never stored by a cache or proxy.
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


def refused_response(refusal, language: str) -> HttpResponse:
    """The small "sold out" page: 200, as the full path's refusal (the page re-shown with the reason)."""
    body = render_to_string("catalog/redeem_refused_early.html", {"refusal": refusal, "language": language})
    return _private(HttpResponse(body), language)


def busy_response(request: HttpRequest, error: BusyError, language: str) -> HttpResponse:
    """503 + Retry-After, as ``pointsmall.admission.busy_response`` but rendered without the member
    (no session, no database): JSON, the htmx fragment, or a small page with a way to try again."""
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        response: HttpResponse = JsonResponse(error.as_dict(), status=503)
    else:
        partial = request.headers.get("hx-request") == "true"
        template = "partials/busy.html" if partial else "errors/busy_light.html"
        context = {"error": error, "seconds": error.retry_after, "again_url": request.path, "language": language}
        response = HttpResponse(render_to_string(template, context), status=503)
    response["Retry-After"] = str(error.retry_after)
    return _private(response, language)


class RedeemGateMiddleware:
    """Reserves a flash item's units on arrival, answers "sold out" and "busy" before the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        product_id = _redeem_product(request)
        if product_id is None:
            return self.get_response(request)
        data = request.POST if request.method == "POST" else request.GET
        member: int | None = None  # the signed-in member who may hold a reservation (POST only)
        try:
            quantity = int(data.get("quantity") or 1)
        except ValueError:
            quantity = 0  # the form says what is wrong with it: the full path answers
        language = translation.get_language_from_request(request)
        with ExitStack() as place:
            # A refusal's message is written in the language active when it is raised.
            with translation.override(language):
                if quantity >= 1:
                    key = data.get("idempotency_key", "")
                    if request.method == "POST":
                        member = _session_member(request)
                        refusal = flash_gate.reserve(
                            product_id=product_id, quantity=quantity, member_id=member, request_key=key
                        )
                    else:
                        refusal = flash_gate.early_refusal(product_id=product_id, quantity=quantity, request_key=key)
                    if refusal is not None:
                        return refused_response(refusal, language)
                if request.method == "POST":
                    # Only as many redemptions at work at once as the servers finish in time; the rest
                    # are told at once to come back (docs/decisions/0044). Held until the response is made.
                    try:
                        place.enter_context(
                            admission.slot(
                                "redeem",
                                limit=settings.ADMISSION_REDEEM_SLOTS,
                                wait=settings.ADMISSION_WAIT_SECONDS,
                                max_waiters=settings.ADMISSION_MAX_WAITERS,
                            )
                        )
                    except BusyError as error:
                        return busy_response(request, error, language)  # the reservation waits for the retry
            response = self.get_response(request)
            if member is not None and response.status_code != 503:
                # Ended without a sale and without "come back" (a refusal, a bad form, an error): the
                # unit is free again now. After a sale the reservation was claimed: nothing happens.
                flash_gate.unreserve(product_id=product_id, member_id=member)
            return response
