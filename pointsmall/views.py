"""Project-wide pages: the error pages in the mall's design."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400: a request Django would not read (too many fields or files, a broken multipart body)."""
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors may run here: the database could be what failed.
    from django.template import loader

    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and bookmark tools ask for /favicon.ico whatever the page's <link rel="icon"> says.

    The static URL is resolved per request: with the manifest storage of production it only
    exists once collectstatic has run, which is after the URLconf is first imported.
    """
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
