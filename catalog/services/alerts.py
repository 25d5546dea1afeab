"""Operator alerts of the catalog."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

from accounts import services as accounts_services
from catalog import notices
from catalog.models import Product
from pointsmall.kernel import clock


def _operators():
    permission = Q(
        groups__permissions__codename="change_product", groups__permissions__content_type__app_label="catalog"
    )
    return get_user_model().objects.filter(Q(is_superuser=True) | permission, is_staff=True, is_active=True).distinct()


def low_stock_notify(*, product_id: int) -> int:
    """Tell every operator (inbox) that a product's stock is at or below its threshold, once a day.

    Returns the number of operators told now (not those told earlier today). Safe to run twice
    (a dedupe key per product and day).
    """
    product = Product.objects.filter(pk=product_id).first()
    if product is None or not product.is_low_stock:
        return 0
    day = clock.business_date().isoformat()
    # The bulk send counts only new messages: an operator told earlier today is not counted again.
    return accounts_services.notifications_send_bulk(
        user_ids=_operators().order_by("pk").values_list("pk", flat=True),
        kind="order",
        **notices.low_stock(product=product),
        link=f"/admin/catalog/product/{product.pk}/change/",
        dedupe_key=f"low-stock:{product.pk}:{day}",
    )
