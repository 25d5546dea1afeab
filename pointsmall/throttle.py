"""The answer to a request past a rate limit (``pointsmall.kernel.ratelimit``, docs/decisions/0051).

A view raises ``RateLimitedError`` before it writes anything; ``RateLimitMiddleware`` answers it
with 429, ``Retry-After`` and ``Cache-Control: no-store``, in the form the caller reads (the same
shapes as ``pointsmall.admission.busy_response``):

- a browser: the "too many attempts" page, in the member's language;
- htmx: the same 429 and a small fragment (static/js/mall.js shows it above the form);
- JSON (``Accept: application/json``): ``{"code": "rate_limited", "message", "params": {"minutes"}}``.

allauth's own limits (sign-up, password reset, e-mail confirmation, sign-in) answer through
``too_many_requests`` (``handler429`` in the root URLconf, which allauth calls).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from pointsmall.kernel.ratelimit import RateLimitedError


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def rate_limited_response(request: HttpRequest, error: RateLimitedError | None = None) -> HttpResponse:
    """429 as HTML page, htmx fragment or JSON; with ``Retry-After`` when ``error`` says how long."""
    if error is None:
        error = RateLimitedError()  # allauth does not say how long: the message names no time
    if _wants_json(request):
        response: HttpResponse = JsonResponse(error.as_dict(), status=429)
    else:
        partial = request.headers.get("hx-request") == "true"
        template = "partials/rate_limited.html" if partial else "errors/429.html"
        response = render(request, template, {"error": error}, status=429)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """``handler429``: allauth's rate limits (sign-up, password reset, e-mail confirmation, sign-in)."""
    return rate_limited_response(request)


class RateLimitMiddleware:
    """Turns a RateLimitedError raised by a view into the 429 answer (``rate_limited_response``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RateLimitedError):
            return rate_limited_response(request, exception)
        return None
