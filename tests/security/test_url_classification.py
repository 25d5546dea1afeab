"""Every URL pattern of the project has a kind in tests/security/routes.py: a URL added later
without one fails here, naming its route (docs/decisions/0050-url-walker.md says how to add it)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import resolve

from tests.security.routes import ROUTES, Kind, all_patterns, classify, model_admin_routes, url_for


def test_every_url_pattern_is_classified():
    unclassified = sorted({p.route + f"  (name: {p.name})" for p in all_patterns() if classify(p.route) is None})
    assert not unclassified, "URL patterns with no kind in tests/security/routes.py ROUTES:\n" + "\n".join(unclassified)


def test_the_table_names_no_route_that_is_gone():
    """A route renamed or removed leaves a stale row, which would hide that its new form is unwalked."""
    routes = {p.route for p in all_patterns()}
    # ^media/ exists only with DEBUG on (static() adds nothing otherwise).
    stale = sorted(set(ROUTES) - routes - {"^media/(?P<path>.*)$"})
    assert not stale, stale


def test_the_walk_sees_admin_allauth_the_api_and_ours():
    routes = {p.route for p in all_patterns()}
    assert {"admin/", "accounts/login/", "api/v1/ping", "mall/orders/<int:pk>/", "me/"} <= routes
    changelists = {route for route in model_admin_routes() if route.count("/") == 3 and route.endswith("/")}
    assert len(changelists) == len(admin.site._registry)
    assert changelists <= routes


def test_every_route_has_a_url_that_resolves_to_it():
    """The walker's URLs really reach the view they stand for (shadowed duplicates aside)."""
    wrong = []
    for pattern in all_patterns():
        match = resolve(url_for(pattern.route))
        if match.route != pattern.route and match.func is not pattern.callback:
            wrong.append((pattern.route, url_for(pattern.route), match.route))
    # Two routes are shadowed on purpose by ours in front of them (accounts/email/, i18n/setlang/).
    assert all(route in {"accounts/email/", "i18n/setlang/"} for route, _url, _match in wrong), wrong


def test_only_api_and_signed_routes_are_csrf_exempt():
    """A view marked csrf_exempt must be in the table with the reason; no other view may be exempt."""
    exempt = {p.route for p in all_patterns() if getattr(p.callback, "csrf_exempt", False)}
    declared = {route for route, entry in ROUTES.items() if entry.csrf_exempt}
    assert exempt == declared
    assert all(ROUTES[route].kind in (Kind.API, Kind.SIGNED) for route in declared)
