"""Reviews: one per delivered order, review points once per order, a checked and re-encoded photo."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from catalog import services
from catalog.exceptions import AlreadyReviewedError, InvalidReviewError, OrderNotFoundError, ReviewNotAllowedError
from catalog.models import Review
from points import services as points_services
from points.models import Entry
from tests.catalog.conftest import balance
from tests.catalog.factories import (
    delivered_order,
    image_upload,
    make_member,
    make_product,
    png_bytes,
    redeem,
    written,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def member(client):
    member = make_member(points=900)
    client.force_login(member)
    return member


def _review_entries(order) -> list[tuple[int, str]]:
    return list(
        Entry.objects.filter(reference=f"catalog.order:{order.pk}", source="review").values_list(
            "amount", "idempotency_key"
        )
    )


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the service -------------------------------------------------------------------------------


def test_posting_a_review_stores_it_and_awards_the_review_points_once():
    member = make_member(points=900)
    order = delivered_order(member, make_product(points_price=100))
    before = balance(member)

    result = services.review_post(order_id=order.pk, member_id=member.pk, rating=5, text="  Lovely kettle.  ")

    review = Review.objects.get()
    assert (review.order_id, review.product_id, review.member_id, review.rating, review.text) == (
        order.pk,
        order.product_id,
        member.pk,
        5,
        "Lovely kettle.",
    )
    assert (result.review_id, result.points, result.message) == (review.pk, 5, "")
    assert balance(member) == before + 5
    assert _review_entries(order) == [(5, f"catalog.review:{order.pk}")]


def test_a_second_review_of_the_same_order_is_refused_and_pays_nothing():
    member = make_member(points=900)
    order = delivered_order(member, make_product(points_price=100))
    services.review_post(order_id=order.pk, member_id=member.pk, rating=4, text="Good")
    before = written()

    with pytest.raises(AlreadyReviewedError):
        services.review_post(order_id=order.pk, member_id=member.pk, rating=1, text="Changed my mind")

    assert written() == before
    assert _review_entries(order) == [(5, f"catalog.review:{order.pk}")]


def test_the_review_award_is_keyed_by_order_so_points_are_never_paid_twice():
    member = make_member(points=900)
    order = delivered_order(member, make_product(points_price=100))
    # The same key already paid (e.g. a review posted, then the review row lost in a restore): no second payment.
    points_services.points_award(
        user_id=member.pk,
        source="review",
        idempotency_key=f"catalog.review:{order.pk}",
        reference=f"catalog.order:{order.pk}",
    )
    before = balance(member)

    result = services.review_post(order_id=order.pk, member_id=member.pk, rating=3, text="Fine")

    # Paid once already: nothing new, and the member is not told they earned points again.
    assert (result.points, result.message) == (0, "This order's review points were paid before.")
    assert balance(member) == before
    assert len(_review_entries(order)) == 1


def test_an_order_not_yet_delivered_cannot_be_reviewed():
    member = make_member(points=900)
    order = redeem(member, make_product(points_price=100))
    before = written()

    with pytest.raises(ReviewNotAllowedError):
        services.review_post(order_id=order.pk, member_id=member.pk, rating=5, text="Early")

    assert written() == before


def test_another_members_order_cannot_be_reviewed_by_the_service():
    owner, other = make_member(points=900), make_member()
    order = delivered_order(owner, make_product(points_price=100))
    before = written()

    with pytest.raises(OrderNotFoundError):
        services.review_post(order_id=order.pk, member_id=other.pk, rating=5, text="Not mine")

    assert written() == before


@pytest.mark.parametrize(("rating", "text"), [(0, "ok"), (6, "ok"), (True, "ok"), (3, "   "), (3, "x" * 1001)])
def test_a_review_out_of_range_is_refused(rating, text):
    member = make_member(points=900)
    order = delivered_order(member, make_product(points_price=100))
    before = written()

    with pytest.raises(InvalidReviewError):
        services.review_post(order_id=order.pk, member_id=member.pk, rating=rating, text=text)

    assert written() == before


def test_the_daily_review_cap_is_reported_and_the_review_still_posts():
    member = make_member(points=900)
    for n in range(10):  # 10 × 5 points: the default daily cap of 50 is reached
        points_services.points_award(user_id=member.pk, source="review", idempotency_key=f"earlier-review:{n}")
    order = delivered_order(member, make_product(points_price=100))

    result = services.review_post(order_id=order.pk, member_id=member.pk, rating=5, text="Great")

    assert result.points == 0
    assert result.message == "You have reached the limit for Review points for now; none were added."
    assert Review.objects.count() == 1


# --- the page ----------------------------------------------------------------------------------


def test_the_review_page_shows_the_form(client, member):
    order = delivered_order(member, make_product(points_price=100))

    html = client.get(reverse("order_review", args=[order.pk])).content.decode()

    assert 'data-testid="review-form"' in html
    assert html.count('name="rating"') == 5
    assert 'name="text"' in html
    assert 'name="photos"' in html and "multiple" in html


def test_posting_the_review_form_thanks_with_the_points_earned(client, member, media):
    order = delivered_order(member, make_product(points_price=100))

    response = client.post(
        reverse("order_review", args=[order.pk]),
        {"rating": "4", "text": "Solid.", "photos": image_upload(png_bytes((2400, 1200)))},
        follow=True,
    )

    review = Review.objects.get()
    assert _messages(response) == ["Thanks for your review! You earned 5 points."]
    assert response.redirect_chain[-1][0] == reverse("order_detail", args=[order.pk])
    assert 'data-testid="order-review"' in response.content.decode()
    with Image.open(review.photos.get().photo.path) as stored:
        assert stored.size == (1000, 500)  # re-encoded and scaled down
        assert not stored.info.get("exif")
    product_page = client.get(reverse("product_detail", args=[order.product_id])).content.decode()
    assert 'data-testid="review"' in product_page
    assert "Solid." in product_page


def test_the_cap_message_is_shown_after_posting(client, member):
    for n in range(10):
        points_services.points_award(user_id=member.pk, source="review", idempotency_key=f"earlier-review:{n}")
    order = delivered_order(member, make_product(points_price=100))

    response = client.post(reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Nice"}, follow=True)

    assert _messages(response) == [
        "Thanks for your review!",
        "You have reached the limit for Review points for now; none were added.",
    ]


@pytest.mark.parametrize(
    ("photo", "error"),
    [
        (image_upload(b"not an image at all", name="x.png"), "This file is not an image we can use."),
        (image_upload(b"\0" * (5 * 1024 * 1024 + 1), name="huge.png"), "The picture is too large"),
    ],
)
def test_a_bad_photo_is_refused_with_a_message_and_nothing_written(client, member, media, photo, error):
    order = delivered_order(member, make_product(points_price=100))
    before = written()

    response = client.post(reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Nice", "photos": photo})

    assert response.status_code == 200
    assert response.context["form"].errors["photos"][0].startswith(error)
    assert written() == before
    assert list(media.rglob("*")) == []


def test_a_picture_with_too_many_pixels_is_refused(client, member, media):
    order = delivered_order(member, make_product(points_price=100))
    out = io.BytesIO()
    Image.new("1", (5000, 4001)).save(out, "PNG")
    before = written()

    response = client.post(
        reverse("order_review", args=[order.pk]),
        {"rating": "5", "text": "Nice", "photos": image_upload(out.getvalue())},
    )

    assert response.context["form"].errors["photos"] == [
        "The picture has too many pixels. Upload one of at most 20 megapixels."
    ]
    assert written() == before


def test_missing_stars_or_text_are_form_errors(client, member):
    order = delivered_order(member, make_product(points_price=100))
    before = written()

    response = client.post(reverse("order_review", args=[order.pk]), {"rating": "", "text": ""})

    errors = response.context["form"].errors
    assert errors["rating"] == ["Choose 1 to 5 stars."]
    assert errors["text"] == ["Write a few words about the item."]
    assert written() == before


def test_a_reviewed_order_sends_the_member_back_to_it(client, member):
    order = delivered_order(member, make_product(points_price=100))
    services.review_post(order_id=order.pk, member_id=member.pk, rating=5, text="Done")
    before = written()

    response = client.post(reverse("order_review", args=[order.pk]), {"rating": "1", "text": "Again"}, follow=True)

    assert _messages(response) == ["You have already reviewed this order."]
    assert written() == before


def test_an_undelivered_order_cannot_be_reviewed_from_the_page(client, member):
    order = redeem(member, make_product(points_price=100))

    response = client.get(reverse("order_review", args=[order.pk]), follow=True)

    assert _messages(response) == ["You can review this item once it has been delivered."]
    assert response.redirect_chain[-1][0] == reverse("order_detail", args=[order.pk])
