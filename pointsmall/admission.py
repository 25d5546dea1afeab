"""The answer to a request turned away by admission control (``pointsmall.kernel.admission``).

A view (or a service it calls) raises ``BusyError`` when every place of a hot path is taken;
``BusyMiddleware`` answers it at once with 503 and ``Retry-After`` (issue #18), in the form the
caller reads:

- a browser: the "busy" page, in the member's language, with the seconds to wait and a link
  back to the same address (for the redeem POST: the confirmation page, to confirm again);
- htmx: the same 503 and a small fragment (htmx leaves the page as it is on an error status,
  and the project's script shows the fragment as a message);
- JSON (``Accept: application/json``): ``{"code": "busy", "message", "params": {"seconds"}}``.

Nothing was done for a busy request, so retrying it is always safe.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from pointsmall.kernel.admission import BusyError


def busy_response(request: HttpRequest, error: BusyError) -> HttpResponse:
    """503 with ``Retry-After: <seconds>`` and ``Cache-Control: no-store``, as HTML, htmx fragment or JSON."""
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        response: HttpResponse = JsonResponse(error.as_dict(), status=503)
    else:
        partial = request.headers.get("hx-request") == "true"
        template = "partials/busy.html" if partial else "errors/busy.html"
        # The same address, as a GET: for a form (the redeem POST) that is its page, to send again.
        context = {"error": error, "seconds": error.retry_after, "again_url": request.get_full_path()}
        response = render(request, template, context, status=503)
    response["Retry-After"] = str(error.retry_after)
    response["Cache-Control"] = "no-store"
    return response


class BusyMiddleware:
    """Turns a BusyError raised by a view into the 503 answer (``busy_response``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, BusyError):
            return busy_response(request, exception)
        return None
