"""Admin searches by member e-mail on big tables go through the member's id (an indexed
foreign key), never ``UPPER(email) LIKE '%…%'`` joined over every row."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.exceptions import EmptyResultSet
from django.test import RequestFactory

from points import services as points_services
from points.models import Entry
from pointsmall.kernel.admin import MemberSearchMixin
from tests.factories import StaffFactory

SEARCHED = [
    (model, model_admin)
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, MemberSearchMixin)
]


def test_the_big_tables_search_through_the_member():
    assert {model._meta.label for model, _admin in SEARCHED} >= {
        "points.Entry",
        "points.Lot",
        "points.Purchase",
        "accounts.Notification",
        "accounts.Delivery",
        "catalog.Order",
        "lottery.Draw",
        "tasks.Checkin",
    }


@pytest.mark.parametrize(("model", "model_admin"), SEARCHED, ids=[m._meta.label for m, _a in SEARCHED])
def test_an_email_search_filters_on_the_member_id_without_like(member, model, model_admin):
    request = RequestFactory().get("/", {"q": member.email.upper()})
    request.user = StaffFactory()

    queryset, may_have_duplicates = model_admin.get_search_results(
        request, model._default_manager.all(), member.email.upper()
    )

    try:
        sql = str(queryset.query).upper()
    except EmptyResultSet:  # the member has no row in the table between: no query is run at all
        assert list(queryset) == []
        return
    assert "LIKE" not in sql
    assert "EMAIL" not in sql
    assert '_ID" IN (' in sql
    assert may_have_duplicates is False


def test_an_email_search_finds_that_members_entries_only(member, other_member):
    points_services.points_earn(user_id=member.pk, amount=10, idempotency_key="m")
    points_services.points_earn(user_id=other_member.pk, amount=20, idempotency_key="o")
    entry_admin = admin.site._registry[Entry]
    request = RequestFactory().get("/")

    found, _dupes = entry_admin.get_search_results(request, Entry.objects.all(), f"  {member.email.upper()} ")
    prefix, _dupes = entry_admin.get_search_results(request, Entry.objects.all(), "m")
    nobody, _dupes = entry_admin.get_search_results(request, Entry.objects.all(), "nobody@example.com")

    assert list(found.values_list("amount", flat=True)) == [10]
    assert list(nobody) == []
    # A term without "@" searches the entry's own fields (reference, keys, memo), not e-mails.
    assert list(prefix.values_list("idempotency_key", flat=True)) == ["m"]
