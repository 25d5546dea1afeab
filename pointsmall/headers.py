"""Response headers every page needs, set in one place so a new view cannot forget them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers


class PrivatePagesMiddleware:
    """A page rendered for a signed-in member is theirs alone: ``Cache-Control: private, no-store``.

    Shared caches (a proxy, a CDN) must never keep a member's balance or orders, and the
    browser must not show them again from its back/forward cache after sign-out on a shared
    phone. A view that chose its own caching (the invite QR code) keeps it, but is never
    made public. Anonymous pages are untouched: they may be cached by whoever wants to.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if response.has_header("Cache-Control"):
                # Keep the view's max-age, but never let a member's page become shareable
                # (``private`` drops a ``public``; ``public=False`` would add a bogus directive).
                patch_cache_control(response, private=True)
            else:
                patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ("Cookie",))
        return response
