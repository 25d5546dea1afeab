"""The Django admin, walked over every URL and every registered ModelAdmin.

- Every admin URL: anonymous visitors are sent to the admin login (which hands over to
  allauth's), signed-in members who are not staff are refused (403), GET and
  POST, and nothing is written.
- Every ModelAdmin in ``admin.site._registry``: a staff member without the model's permissions
  is refused (403) its changelist, add, change, delete and history pages; one holding them gets
  200 wherever the ModelAdmin allows that view.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.factories import MemberFactory
from tests.security.routes import Kind, all_patterns, classify, url_for
from tests.test_admin_privileges import _one_of_everything

pytestmark = pytest.mark.django_db

ADMIN_ROUTES = sorted({p.route for p in all_patterns() if classify(p.route).kind is Kind.ADMIN})
LOGIN_PATHS = {"/admin/login/", "/accounts/login/"}


def test_every_admin_url_sends_anonymous_visitors_and_members_to_the_login(member_a, nothing_written):
    member = Client()
    member.force_login(member_a)
    let_in = []
    with nothing_written("admin URLs without staff"):
        for route in ADMIN_ROUTES:
            url = url_for(route)
            for who, client in (("anonymous", Client()), ("member", member)):
                for method in ("get", "post"):
                    response = getattr(client, method)(url)
                    location = urlsplit(response.get("Location", "")).path
                    # A member who is not staff is refused outright (pointsmall.middleware.AdminAccessMiddleware);
                    # a visitor is sent to sign in (or, signing out, back to the admin, which does the same).
                    if who == "member":
                        ok = response.status_code == 403
                    else:
                        ok = response.status_code == 302 and (
                            location in LOGIN_PATHS or (route == "admin/logout/" and location == "/admin/")
                        )
                    if not ok:
                        let_in.append((route, who, method, response.status_code, location))
    assert not let_in


def _staff(*permissions: Permission):
    user = MemberFactory(is_staff=True)
    user.user_permissions.add(*permissions)
    return user


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_every_model_admin_refuses_staff_without_its_permission_and_serves_staff_with_it():
    people = {group.name: MemberFactory(is_staff=True) for group in Group.objects.all()}
    people["superuser"] = MemberFactory(is_staff=True, is_superuser=True)
    _one_of_everything(people)
    bare = _signed_in(_staff())
    problems = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        name = f"admin:{meta.app_label}_{meta.model_name}"
        permissions = Permission.objects.filter(content_type=ContentType.objects.get_for_model(model, False))
        holder = _staff(*permissions)
        holder = type(holder).objects.get(pk=holder.pk)  # a fresh permission cache
        allowed = _signed_in(holder)
        row = model_admin.get_queryset(_request(holder)).order_by("pk").first() or model._base_manager.first()
        views = {"changelist": (), "add": ()}
        if row is not None:
            views |= {"change": (row.pk,), "delete": (row.pk,), "history": (row.pk,)}
        for view, args in views.items():
            url = reverse(f"{name}_{view}", args=args)
            # A singleton's changelist redirects to its one row's change page: judge where it lands.
            refused = bare.get(url, follow=True).status_code
            if refused != 403:
                problems.append((url, "without permission", refused))
            request = _request(holder)
            may = {
                "changelist": model_admin.has_view_or_change_permission(request),
                "add": model_admin.has_add_permission(request),
                "change": row is not None and model_admin.has_view_or_change_permission(request, row),
                "delete": row is not None and model_admin.has_delete_permission(request, row),
                "history": row is not None and model_admin.has_view_or_change_permission(request, row),
            }[view]
            served = allowed.get(url, follow=True).status_code
            if (served == 200) != may:
                problems.append((url, "with permission", served, "allowed" if may else "not allowed"))
    assert not problems, "\n".join(map(str, problems))
