"""No admin adds, changes or deletes an audit record, superusers included."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import reverse
from simple_history.models import HistoricalChanges

from catalog.models import OrderEvent, StockMovement
from points.models import Entry, LotMovement
from pointsmall.audit.models import PrivilegeChange
from tests.factories import MemberFactory

# The record tables of the audit trail; every model django-simple-history keeps is one too.
AUDIT_MODELS = {Entry, LotMovement, OrderEvent, StockMovement, LogEntry, PrivilegeChange}
# The ones the admin lists by themselves (the others are shown inline or not at all).
LISTED = {Entry, StockMovement, LogEntry, PrivilegeChange}


def _is_audit(model) -> bool:
    return model in AUDIT_MODELS or issubclass(model, HistoricalChanges)


def _as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _admins_of_audit_records():
    for model, model_admin in admin.site._registry.items():
        if _is_audit(model):
            yield model, model_admin
        for inline in model_admin.inlines:
            if _is_audit(inline.model):
                yield inline.model, inline(model, admin.site)


def test_every_admin_of_an_audit_record_refuses_add_change_and_delete_to_a_superuser(superuser):
    request = _as(superuser)
    seen = set()
    for model, model_admin in _admins_of_audit_records():
        seen.add(model)
        assert model_admin.has_add_permission(request, None) is False, model
        assert model_admin.has_change_permission(request, None) is False, model
        assert model_admin.has_delete_permission(request, None) is False, model
    assert seen >= LISTED
    assert OrderEvent in seen  # on the order's page


def test_the_audit_lists_offer_no_actions(superuser):
    request = _as(superuser)
    for model in LISTED:
        assert not admin.site._registry[model].get_actions(request), model


@pytest.fixture
def records(superuser):
    """One row of each listed audit table."""
    member = MemberFactory(is_staff=True)  # a PrivilegeChange
    log = LogEntry.objects.create(
        user=superuser,
        content_type=ContentType.objects.get_for_model(member),
        object_id=str(member.pk),
        object_repr=str(member),
        action_flag=CHANGE,
        change_message="Changed nothing",
    )
    from points import services as points_services

    points_services.points_adjust(
        user_id=member.pk, amount=5, reason="Thanks", actor_id=superuser.pk, idempotency_key="audit:ro"
    )
    return {
        LogEntry: log,
        PrivilegeChange: PrivilegeChange.objects.get(user=member),
        Entry: Entry.objects.get(idempotency_key="audit:ro"),
    }


def test_change_and_delete_urls_of_audit_rows_refuse_a_superuser_and_leave_the_row(client, superuser, records):
    client.force_login(superuser)
    for model, row in records.items():
        before = model.objects.filter(pk=row.pk).values().get()
        opts = model._meta
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[row.pk])
        assert client.get(change).status_code == 200  # a read-only view
        assert client.post(change, {"change_message": "rewritten", "amount": "999"}).status_code == 403, model
        assert client.get(delete).status_code == 403, model
        assert client.post(delete, {"post": "yes"}).status_code == 403, model
        assert model.objects.filter(pk=row.pk).values().get() == before
