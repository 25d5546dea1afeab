"""Every custom admin view and every admin action, walked per permission (decision 0057).

test_admin_urls.py walks the ModelAdmins' own pages. The views an admin adds with ``get_urls``
(adjust points, stock, codes, publish, reports, audit pages, rotate a secret…) and the actions
of the change lists check permissions by hand, and a forgotten check is a staff member doing
what nobody gave them. So:

- every custom admin route in ``ROUTES`` declares its ``permissions`` (or why ``any_staff`` may
  open it): a new view without a declaration fails by name;
- for each declared permission, staff holding all the others but that one get 403 on GET and
  POST, and nothing is written; staff holding them all get 200 (GET);
- every action of every ModelAdmin names its ``allowed_permissions``; staff who may only view
  the change list are not offered it, and posting it anyway writes nothing.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.factories import MemberFactory
from tests.security.routes import ROUTES, Kind, url_for

pytestmark = pytest.mark.django_db

# The admin's custom views and the staff pages outside the admin (catalog/staff_views.py).
CUSTOM_ADMIN = sorted(route for route, entry in ROUTES.items() if entry.kind in (Kind.ADMIN, Kind.STAFF))
GUARDED = [route for route in CUSTOM_ADMIN if ROUTES[route].permissions]


def _permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _staff_with(names) -> Client:
    user = MemberFactory(is_staff=True)
    user.user_permissions.add(*(_permission(name) for name in names))
    client = Client()
    client.force_login(type(user).objects.get(pk=user.pk))
    return client


def test_every_custom_admin_view_and_staff_page_declares_its_permissions():
    undeclared = [
        r for r in CUSTOM_ADMIN if not (ROUTES[r].permissions or ROUTES[r].any_staff or ROUTES[r].superuser_only)
    ]
    assert not undeclared, f"custom admin views without declared permissions: {undeclared}"
    for route in GUARDED:  # every declared permission exists (a typo would make the walk vacuous)
        for name in (*ROUTES[route].permissions, *(ROUTES[route].post_permissions or ())):
            assert _permission(name)


@pytest.mark.parametrize("route", GUARDED)
def test_a_custom_admin_view_refuses_staff_missing_any_of_its_permissions(route, objects, nothing_written):
    entry = ROUTES[route]
    url = url_for(route, entry.kwargs(objects) if entry.kwargs else None)
    needed_for_post = entry.post_permissions or entry.permissions
    # The staff members first: making them writes rows, the requests must not.
    gets = {} if entry.post_only else {m: _staff_with(set(entry.permissions) - {m}) for m in entry.permissions}
    posts = {m: _staff_with(set(needed_for_post) - {m}) for m in needed_for_post}
    bare = _staff_with(())
    refused = []
    with nothing_written(f"{route} without its permissions"):
        for missing, client in gets.items():
            if (status := client.get(url).status_code) != 403:
                refused.append(("GET without", missing, status))
        for missing, client in posts.items():
            if (status := client.post(url, {"reason": "x", "delta": "5"}).status_code) != 403:
                refused.append(("POST without", missing, status))
        for method in ("post",) if entry.post_only else ("get", "post"):
            if (status := getattr(bare, method)(url).status_code) != 403:
                refused.append((method, "no permission", status))
    assert not refused, refused
    if entry.post_only:
        assert _staff_with(entry.permissions).post(url).status_code not in (403, 405)
    else:
        assert _staff_with(entry.permissions).get(url).status_code == 200


@pytest.mark.parametrize("route", [r for r in CUSTOM_ADMIN if ROUTES[r].superuser_only])
def test_a_superuser_only_admin_view_refuses_staff_holding_every_permission(route, objects, nothing_written):
    entry = ROUTES[route]
    url = url_for(route, entry.kwargs(objects) if entry.kwargs else None)
    mighty = MemberFactory(is_staff=True)
    mighty.user_permissions.set(Permission.objects.all())
    client = Client()
    client.force_login(type(mighty).objects.get(pk=mighty.pk))
    with nothing_written(f"{route} as staff who are not superusers"):
        assert client.get(url).status_code == 403
        assert client.post(url, {"password1": "Xx-12345678-long", "password2": "Xx-12345678-long"}).status_code == 403
    root = Client()
    root.force_login(MemberFactory(is_staff=True, is_superuser=True))
    assert root.get(url).status_code == 200


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _actions():
    """Every action offered to a staff member holding every permission (not a superuser: the
    admins of third-party models offer their undeclared actions to superusers alone)."""
    mighty = MemberFactory(is_staff=True)
    mighty.user_permissions.set(Permission.objects.all())
    mighty = type(mighty).objects.get(pk=mighty.pk)
    for model, model_admin in admin.site._registry.items():
        for name, (function, _name, _description) in model_admin.get_actions(_request(mighty)).items():
            yield model, model_admin, name, function


def test_every_admin_action_names_the_permissions_it_needs():
    undeclared = [
        f"{model._meta.label}.{name}"
        for model, _model_admin, name, function in _actions()
        if not getattr(function, "allowed_permissions", None)
    ]
    assert not undeclared, f"admin actions any staff member who sees the list may run: {undeclared}"


def test_staff_who_may_only_view_a_list_are_not_offered_its_actions_and_cannot_post_them(nothing_written):
    models = {}
    for model, model_admin, name, _function in _actions():
        models.setdefault(model, (model_admin, []))[1].append(name)
    offered, viewers = [], {}
    for model, (model_admin, _names) in models.items():
        meta = model._meta
        view = Permission.objects.filter(content_type__app_label=meta.app_label, codename=f"view_{meta.model_name}")
        user = MemberFactory(is_staff=True)
        user.user_permissions.add(*view)
        viewers[model] = user = type(user).objects.get(pk=user.pk)
        offered += [f"{meta.label}.{name}" for name in model_admin.get_actions(_request(user))]
    clients = {}
    for model, user in viewers.items():
        clients[model] = Client()
        clients[model].force_login(user)  # before the snapshot: signing in writes last_login
    accepted = []
    with nothing_written("actions posted by view-only staff"):
        for model, (_model_admin, names) in models.items():
            row = model._base_manager.order_by("pk").first()
            if row is None:
                continue
            client = clients[model]
            meta = model._meta
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            for name in names:
                response = client.post(url, {"action": name, "_selected_action": [str(row.pk)], "apply": "1"})
                # Refused, or the change list again ("No action selected"); never an error page.
                if response.status_code not in (200, 302, 403):
                    accepted.append((meta.label, name, response.status_code))
    assert not offered, f"actions offered to view-only staff: {offered}"
    assert not accepted, accepted
