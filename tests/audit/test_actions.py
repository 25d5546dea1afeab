"""Every admin action leaves a LogEntry per selected row; every admin's actions are wrapped."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.models import LogEntry
from django.test import RequestFactory
from django.urls import reverse

from catalog.models import Product
from pointsmall.audit.actions import WRAPPED


def test_a_bulk_action_logs_each_selected_row_with_its_actor(client, superuser, make_product):
    first, second, untouched = make_product(), make_product(), make_product()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:catalog_product_changelist") + "?on_shelf__exact=1",
        {"action": "take_off_shelf", helpers.ACTION_CHECKBOX_NAME: [first.pk, second.pk]},
    )
    assert response.status_code == 302
    assert list(Product.objects.filter(pk__in=[first.pk, second.pk]).values_list("on_shelf", flat=True)) == [
        False,
        False,
    ]
    # The filtered list no longer matches them, but the selection was read before the action ran.
    logged = LogEntry.objects.filter(content_type__model="product").order_by("object_id")
    assert [(e.object_id, e.user_id) for e in logged] == [(str(first.pk), superuser.pk), (str(second.pk), superuser.pk)]
    assert "take_off_shelf" in logged[0].change_message
    assert not LogEntry.objects.filter(object_id=str(untouched.pk), content_type__model="product").exists()


def test_an_action_answering_with_a_page_is_not_logged_until_it_is_applied(client, superuser, make_product):
    client.force_login(superuser)
    product = make_product()
    # delete_selected's first step is a confirmation page (Django logs the deletion itself).
    response = client.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [product.pk]},
    )
    assert response.status_code in (200, 403)
    assert not LogEntry.objects.exists()


def test_every_registered_admin_logs_its_actions(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        assert getattr(model_admin.get_actions, WRAPPED, False), model
        for key, (func, _name, _description) in model_admin.get_actions(request).items():
            assert key == "delete_selected" or getattr(func, WRAPPED, False), (model, key)
