"""Members review what they redeemed: one review per order, review points once per order.

An operator who removes a review (abusive, spam) takes its review points back with it: a
reward does not outlive its cause (docs/decisions/0022-rewards-follow-their-cause.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from catalog import locks, notices, order_states, rules, signals
from catalog.exceptions import (
    AlreadyReviewedError,
    InvalidReviewError,
    OrderNotFoundError,
    ReviewNotAllowedError,
    ReviewNotFoundError,
)
from catalog.images import PreparedPhoto
from catalog.models import Order, Review, ReviewPhoto
from catalog.order_states import Action
from points import services as points_services
from points.enums import EarningSource
from pointsmall.kernel.transactions import after_commit

logger = logging.getLogger(__name__)

REVIEW_MAX_LENGTH = 1000


@dataclass(frozen=True)
class ReviewResult:
    review_id: int
    points: int  # review points granted now (0 when a cap or a switched-off rule held them back)
    message: str  # why fewer points than the rule's were granted, "" otherwise


def _check(rating: int, text: str) -> str:
    text = (text or "").strip()
    valid_rating = isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5
    if not valid_rating or not text or len(text) > REVIEW_MAX_LENGTH:
        raise InvalidReviewError(limit=REVIEW_MAX_LENGTH)
    return text


@transaction.atomic
def review_post(
    *, order_id: int, member_id: int, rating: int, text: str, photos: Sequence[PreparedPhoto] = ()
) -> ReviewResult:
    """Post the member's review of a delivered or completed order and award the review points.

    ``photos`` are at most ``rules.REVIEW_PHOTOS_MAX`` pictures already checked and re-encoded by
    ``catalog.images.review_photo_prepare``, kept in that order (more raise ValueError: the form
    refuses them first).
    Refuses with InvalidReviewError, OrderNotFoundError (not the member's order), ReviewNotAllowedError
    (not delivered yet) or AlreadyReviewedError, and then writes nothing. Locks the member's
    points account, then the order row. Safe to call twice: the second call raises
    AlreadyReviewedError, and the points carry the key ``catalog.review:<order>``, so they are
    paid once per order whatever happens: a new review of an order whose review points were
    paid before (its first review was removed) earns 0 and says so.
    """
    text = _check(rating, text)
    if len(photos) > rules.REVIEW_PHOTOS_MAX:
        raise ValueError(f"a review has at most {rules.REVIEW_PHOTOS_MAX} photos, got {len(photos)}")
    if not Order.objects.filter(pk=order_id, member_id=member_id).exists():
        raise OrderNotFoundError()
    points_services.account_lock(user_id=member_id)
    order = locks.orders_for_update().filter(pk=order_id, member_id=member_id).get()
    if not order_states.allows(Action.REVIEW, order.status, by=order_states.Actor.MEMBER):
        raise ReviewNotAllowedError()
    if Review.objects.filter(order_id=order.pk).exists():
        raise AlreadyReviewedError()
    review = Review(order=order, product_id=order.product_id, member_id=member_id, rating=rating, text=text)
    award = points_services.points_award(
        user_id=member_id,
        source=EarningSource.REVIEW,
        idempotency_key=f"catalog.review:{order.pk}",
        reference=rules.order_reference(order.pk),
        **notices.review_points(product=order.product),
    )
    if award.replayed:
        # Paid for an earlier review of this order (removed since): nothing new is credited.
        review.save()
        _attach(review, photos)
        _announce(signals.review_posted, review)
        return ReviewResult(review_id=review.pk, points=0, message=_("This order's review points were paid before."))
    review.points_entry_id = award.receipt.entry_id if award.receipt else None
    review.save()
    _attach(review, photos)
    _announce(signals.review_posted, review)
    return ReviewResult(review_id=review.pk, points=award.granted, message=award.message)


def _attach(review: Review, photos: Sequence[PreparedPhoto]) -> None:
    for position, photo in enumerate(photos):
        row = ReviewPhoto(review=review, sort=position)
        row.photo.save(f"{uuid.uuid4().hex}.{photo.extension}", ContentFile(photo.image), save=False)
        row.save()


def _announce(signal, review: Review) -> None:
    signal.send(
        sender=Review,
        user_id=review.member_id,
        review_id=review.pk,
        order_id=review.order_id,
        reference=f"catalog.review:{review.pk}",
    )


@transaction.atomic
def review_remove(*, review_id: int, actor_id: int) -> int:
    """An operator removes a review (abusive, spam, not about the item): the review and its
    photo go, and the review points it earned are taken back (pending: cancelled; available:
    own lot, other lots, then debt, docs/decisions/0006). Returns the points taken back.

    The member may review the order again, for no points (they are paid once per order).
    Raises ReviewNotFoundError. Locks the member's points account, then the review row. A second
    call raises ReviewNotFoundError; the claw-back's key ``catalog.review:<order>:removed`` keeps
    the ledger to one claw-back whatever happens.
    """
    member_id = Review.objects.filter(pk=review_id).values_list("member_id", flat=True).first()
    if member_id is None:
        raise ReviewNotFoundError()
    points_services.account_lock(user_id=member_id)
    review = locks.reviews_for_update().filter(pk=review_id).first()
    if review is None:
        raise ReviewNotFoundError()
    taken = 0
    if review.points_entry_id is not None:
        receipt = points_services.points_reverse(
            user_id=member_id,
            earn_entry_id=review.points_entry_id,
            idempotency_key=f"catalog.review:{review.order_id}:removed",
            reference=rules.order_reference(review.order_id),
            **notices.review_points_removed(product=review.order.product),
        )
        taken = -receipt.amount - receipt.pending_amount + receipt.debt_change
    order_id = review.order_id
    files = list(review.photos.values_list("photo", flat=True))
    _announce(signals.review_removed, review)
    review.delete()  # its ReviewPhoto rows go with it
    if files:
        storage = ReviewPhoto._meta.get_field("photo").storage

        # After commit: a rollback must not lose the photos; a failed delete only leaves a file behind.
        def delete_files() -> None:
            for name in files:
                storage.delete(name)

        after_commit(delete_files)
    logger.info("review %s of order %s removed by user %s; %s points taken back", review_id, order_id, actor_id, taken)
    return taken
