"""Every POST without a CSRF token is refused (403) and writes nothing, on every URL of the
project: as a signed-in member outside the admin, as a superuser inside it. The exceptions are
the table's csrf_exempt routes (the host API, the payment callbacks, signed links), which must
instead refuse a request that carries no signature, also writing nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.security.routes import ROUTES, Kind, all_patterns, classify, url_for

pytestmark = pytest.mark.django_db

ROUTES_OF_ALL = sorted({p.route for p in all_patterns()})
NEEDS_TOKEN = [route for route in ROUTES_OF_ALL if not classify(route).csrf_exempt]
# The API's own documentation answers anyone (it shows no data); it is still checked to write nothing.
OPEN_DOCS = {"api/v1/docs", "api/v1/openapi.json"}
EXEMPT = sorted(route for route, entry in ROUTES.items() if entry.csrf_exempt)


def _values(route: str, objects: dict) -> dict | None:
    entry = ROUTES.get(route)
    return entry.kwargs(objects) if entry and entry.kwargs else None


@pytest.mark.parametrize("route", [r for r in NEEDS_TOKEN if classify(r).kind is not Kind.ADMIN])
def test_a_post_without_a_csrf_token_is_refused_outside_the_admin(route, objects, member_a, nothing_written):
    a = Client(enforce_csrf_checks=True)
    a.force_login(member_a)
    with nothing_written(f"POST {route} without a token"):
        response = a.post(url_for(route, _values(route, objects)), {"pin": "731946", "quantity": "1"})
    assert response.status_code == 403, (route, response.status_code)


def test_a_post_without_a_csrf_token_is_refused_in_the_admin(objects, nothing_written):
    """One test for the ~480 admin routes (the superuser is made once)."""
    from tests.factories import StaffFactory

    root = Client(enforce_csrf_checks=True)
    root.force_login(StaffFactory())
    accepted = []
    with nothing_written("admin POSTs without a token"):
        for route in NEEDS_TOKEN:
            if classify(route).kind is Kind.ADMIN:
                response = root.post(url_for(route), {"action": "delete_selected", "_selected_action": ["1"]})
                if response.status_code != 403:
                    accepted.append((route, response.status_code))
    assert not accepted


@pytest.mark.parametrize("route", EXEMPT)
def test_an_exempt_route_refuses_a_request_without_its_signature(route, objects, member_a, nothing_written):
    """Signed in or not, no signature means no effect: 4xx for GET and POST, nothing written."""
    a = Client(enforce_csrf_checks=True)
    a.force_login(member_a)
    url = url_for(route, _values(route, objects))
    with nothing_written(f"{route} without a signature"):
        answers = {
            "get": a.get(url).status_code,
            "post": a.post(url, b"{}", content_type="application/json").status_code,
        }
    if route not in OPEN_DOCS:
        assert all(400 <= status < 500 for status in answers.values()), answers
