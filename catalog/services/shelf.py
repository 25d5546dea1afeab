"""Putting products on the shelf and taking them off, many at once (the admin's list actions).

A privilege whose effect the mall cannot deliver today stays off the shelf
(``privileges.product_sellable``; docs/decisions/0020). Editing one product in its form is
checked by the product form itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from catalog.models import Product
from catalog.selectors.cached import catalog_changed
from catalog.services import privileges


@dataclass(frozen=True)
class ShelfResult:
    """How many products were put on the shelf, and the names of those refused (not sellable)."""

    changed: int
    refused: list[str]


@transaction.atomic
def products_shelve(*, product_ids: list[int]) -> ShelfResult:
    """Put the products of ``product_ids`` that are off the shelf on it, except those not sellable.

    One guarded ``UPDATE … WHERE on_shelf = false``: a product already on the shelf is not
    counted, so calling twice changes nothing the second time. Takes no row locks.
    """
    candidates = list(Product.objects.filter(pk__in=product_ids, on_shelf=False).order_by("pk"))
    refused = [p for p in candidates if not privileges.product_sellable(p)]
    sellable = [p.pk for p in candidates if p not in refused]
    changed = Product.objects.filter(pk__in=sellable, on_shelf=False).update(on_shelf=True)
    if changed:
        catalog_changed()  # update() sends no post_save: retire the cached pages here
    return ShelfResult(changed=changed, refused=[p.name for p in refused])


def products_unshelve(*, product_ids: list[int]) -> int:
    """Take the products of ``product_ids`` off the shelf; how many were on it. Safe to call twice."""
    changed = Product.objects.filter(pk__in=product_ids, on_shelf=True).update(on_shelf=False)
    if changed:
        catalog_changed()  # update() sends no post_save: retire the cached pages here
    return changed
