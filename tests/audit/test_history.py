"""Campaign, rule, product and price edits keep their versions: who, when, old → new."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, SalePrice
from lottery.models import LotteryCampaign
from tasks.enums import TaskEvent
from tasks.models import Task
from tests.test_admin_privileges import _form_data

NOON = timezone.now().replace(microsecond=0) + timedelta(days=1)  # after the rows are created


def _edit_in_admin(client, obj, **changes) -> None:
    model = type(obj)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    data = _form_data(client.get(url), model)
    assert data is not None
    data.update({name: [str(value)] for name, value in changes.items()})
    data["_save"] = ["Save"]
    with time_machine.travel(NOON, tick=False):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response


def _latest_change(obj):
    latest = obj.history.order_by("-history_date", "-history_id").first()
    return latest, latest.prev_record


def test_a_product_price_edit_keeps_who_when_and_old_and_new(client, superuser, make_product):
    product = make_product(points_price=500)
    client.force_login(superuser)
    _edit_in_admin(client, product, points_price=450)

    version, before = _latest_change(product)
    assert (before.points_price, version.points_price) == (500, 450)
    assert version.history_user == superuser
    assert version.history_date == NOON
    assert version.history_type == "~"


def test_product_history_does_not_follow_stock(make_product):
    product = make_product(stock=10)
    Product.objects.filter(pk=product.pk).update(stock=9)  # as a redemption does
    assert not hasattr(product.history.model, "stock")
    assert product.history.count() == 1


def test_a_sale_price_edit_is_kept(client, superuser, make_product):
    product = make_product(points_price=500)
    sale = SalePrice.objects.create(
        product=product, points_price=400, starts_at=NOON + timedelta(days=1), ends_at=NOON + timedelta(days=2)
    )
    client.force_login(superuser)
    _edit_in_admin(client, sale, points_price=350)
    version, before = _latest_change(sale)
    assert (before.points_price, version.points_price, version.history_user) == (400, 350, superuser)


def test_a_lottery_campaign_edit_is_kept(client, superuser):
    campaign = LotteryCampaign.objects.create(
        name="春季抽奖", starts_at=NOON - timedelta(days=1), ends_at=NOON + timedelta(days=7), cost_points=10
    )
    client.force_login(superuser)
    _edit_in_admin(client, campaign, cost_points=20)
    version, before = _latest_change(campaign)
    assert (before.cost_points, version.cost_points, version.history_user) == (10, 20, superuser)


def test_a_task_rule_edit_is_kept(client, superuser):
    task = Task.objects.create(title="Share", reward_points=10, event=TaskEvent.REVIEW_POSTED)
    client.force_login(superuser)
    _edit_in_admin(client, task, reward_points=15)
    version, before = _latest_change(task)
    assert (before.reward_points, version.reward_points, version.history_user) == (10, 15, superuser)
