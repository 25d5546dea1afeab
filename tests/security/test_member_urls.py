"""Member pages, walked from the table in tests/security/routes.py.

- Member B asking for member A's object (order, address, notification, payment, feedback
  screenshot) gets 404 for every method, and nothing is written: no row anywhere, A's points
  unchanged, the ledger still verifies.
- Anonymous visitors are sent to the login page by every member URL, GET and POST.
- No GET anywhere outside the admin writes a row (unless the table says why it must).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client

from tests.security.conftest import balance
from tests.security.routes import ROUTES, Kind, url_for

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
OWNED = sorted(route for route, entry in ROUTES.items() if entry.owned)
SIGNED_IN = sorted(route for route, entry in ROUTES.items() if entry.kind in (Kind.MEMBER, Kind.STAFF))
OUTSIDE_ADMIN = sorted(route for route, entry in ROUTES.items() if entry.kind is not Kind.ADMIN)


def _url(route: str, objects: dict) -> str:
    entry = ROUTES[route]
    return url_for(route, entry.kwargs(objects) if entry.kwargs else None)


def test_the_owned_routes_are_the_ones_expected():
    """A new member URL naming a member's object must be marked owned=True (a forgotten flag would
    skip its 404 check): every member route with a pk-like parameter is either owned or public data."""
    public_objects = {"_product", "_campaign", "_task"}
    for route, entry in ROUTES.items():
        if entry.kind is Kind.MEMBER and entry.kwargs is not None and not entry.owned:
            assert entry.kwargs.__name__ in public_objects or route.startswith("tasks/"), route


@pytest.mark.parametrize("route", OWNED)
def test_another_members_object_is_404_for_every_method_and_nothing_changes(
    route, objects, member_a, member_b, nothing_written
):
    url = _url(route, objects)
    b = Client()
    b.force_login(member_b)
    a_points, b_points = balance(member_a), balance(member_b)
    answers = {}
    with nothing_written(f"{route} as member B"):
        for method in METHODS:
            response = getattr(b, method)(url)
            answers[method] = response.status_code
    assert set(answers.values()) <= {404, 405}, answers
    assert 404 in answers.values(), answers
    assert (balance(member_a), balance(member_b)) == (a_points, b_points)
    # The same URL works for its owner: the 404 above is about ownership, not a bad URL.
    a = Client()
    a.force_login(member_a)
    assert a.get(url).status_code in (200, 302, 405), url


@pytest.mark.parametrize("route", SIGNED_IN)
def test_anonymous_visitors_are_sent_to_the_login_page(route, objects, nothing_written):
    url = _url(route, objects)
    login = resolve_url(settings.LOGIN_URL)
    with nothing_written(f"{route} anonymously"):
        for method in ("get", "post"):
            response = getattr(Client(), method)(url)
            assert response.status_code == 302, (method, url, response.status_code)
            assert urlsplit(response["Location"]).path == login, (method, url, response["Location"])


@pytest.mark.parametrize("route", OUTSIDE_ADMIN)
def test_no_get_writes(route, objects, member_a, nothing_written):
    """Opening a page (as member A, on A's own objects) changes nothing: state changes need a POST."""
    entry = ROUTES[route]
    if entry.get_writes:
        pytest.skip(entry.get_writes)
    a = Client()
    a.force_login(member_a)
    with nothing_written(f"GET {route}"):
        response = a.get(_url(route, objects))
    assert response.status_code < 500, (route, response.status_code)
