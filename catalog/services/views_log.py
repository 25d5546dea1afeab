"""What members looked at, for "recently viewed" and "recommended for you"."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from catalog.models import ProductView
from catalog.selectors.cached import member_views_changed


@transaction.atomic
def product_view_record(*, member_id: int, product_id: int) -> None:
    """Remember that a member opened a product page: one row per member and product, its time moved on.

    One upsert (INSERT … ON CONFLICT DO UPDATE), so two tabs opening the same page at once
    cannot collide on the unique pair. Locks nothing beyond that row. Safe to call twice.
    """
    ProductView.objects.bulk_create(
        [ProductView(member_id=member_id, product_id=product_id, viewed_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["member", "product"],
        update_fields=["viewed_at"],
    )
    member_views_changed(user_id=member_id)
