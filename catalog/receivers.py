"""Retire the cached catalog pages whenever a row they show is saved or deleted (docs/decisions/0048).

Model signals catch every ``save()`` and ``delete()`` — the admin, the services, the imports —
so no writer has to remember the cache. Queryset ``update()`` sends no signal: the few bulk
writers of shown fields (``services.shelf``) call ``catalog_changed`` themselves, and stock and
sold counts are never cached (read live), so the stock module needs nothing.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from catalog.models import Category, Product, ProductImage, Review, SalePrice
from catalog.selectors.cached import catalog_changed

SHOWN_MODELS = (Product, SalePrice, ProductImage, Category, Review)


def _changed(sender, **kwargs) -> None:
    catalog_changed()


def connect() -> None:
    for model in SHOWN_MODELS:
        post_save.connect(_changed, sender=model, dispatch_uid=f"catalog.cache.save.{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"catalog.cache.delete.{model.__name__}")
