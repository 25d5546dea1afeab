"""Members review what they redeemed: one review per order, review points once per order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.enums import OrderStatus
from catalog.exceptions import OrderNotFound
from catalog.images import PreparedPhoto
from catalog.models import Order, Review
from points import services as points_services
from points.enums import EarningSource
from points.exceptions import DomainError

REVIEW_MAX_LENGTH = 1000
REVIEWABLE_STATUSES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)


class ReviewNotAllowed(DomainError):
    code = "review_not_allowed"
    default_message = gettext_lazy("You can review this item once it has been delivered.")


class AlreadyReviewed(DomainError):
    code = "already_reviewed"
    default_message = gettext_lazy("You have already reviewed this order.")


class InvalidReview(DomainError):
    code = "invalid_review"
    default_message = gettext_lazy("Give 1 to 5 stars and write a review of at most %(limit)s characters.")


@dataclass(frozen=True)
class ReviewResult:
    review_id: int
    points: int  # review points granted now (0 when a cap or a switched-off rule held them back)
    message: str  # why fewer points than the rule's were granted, "" otherwise


def _check(rating: int, text: str) -> str:
    text = (text or "").strip()
    valid_rating = isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5
    if not valid_rating or not text or len(text) > REVIEW_MAX_LENGTH:
        raise InvalidReview(limit=REVIEW_MAX_LENGTH)
    return text


@transaction.atomic
def review_post(
    *, order_id: int, member_id: int, rating: int, text: str, photo: PreparedPhoto | None = None
) -> ReviewResult:
    """Post the member's review of a delivered or completed order and award the review points.

    ``photo`` is a picture already checked and re-encoded by ``catalog.images.review_photo_prepare``.
    Refuses with InvalidReview, OrderNotFound (not the member's order), ReviewNotAllowed
    (not delivered yet) or AlreadyReviewed, and then writes nothing. Locks the member's
    points account, then the order row. Safe to call twice: the second call raises
    AlreadyReviewed, and the points carry the key ``catalog.review:<order>``, so they are
    paid once per order whatever happens.
    """
    text = _check(rating, text)
    if not Order.objects.filter(pk=order_id, member_id=member_id).exists():
        raise OrderNotFound()
    points_services.account_lock(user_id=member_id)
    order = Order.objects.select_for_update().filter(pk=order_id, member_id=member_id).get()
    if order.status not in REVIEWABLE_STATUSES:
        raise ReviewNotAllowed()
    if Review.objects.filter(order_id=order.pk).exists():
        raise AlreadyReviewed()
    review = Review(order=order, product_id=order.product_id, member_id=member_id, rating=rating, text=text)
    if photo is not None:
        review.photo.save(f"{uuid.uuid4().hex}.{photo.extension}", ContentFile(photo.image), save=False)
    review.save()
    award = points_services.points_award(
        user_id=member_id,
        source=EarningSource.REVIEW,
        idempotency_key=f"catalog.review:{order.pk}",
        reference=f"catalog.order:{order.pk}",
        memo=_("Review: %(name)s") % {"name": order.product_name},
    )
    return ReviewResult(review_id=review.pk, points=award.granted, message=award.message)
