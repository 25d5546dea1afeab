"""A review's photos (up to 6, issue #17), the points the form promises, and reviewers' masked names."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from catalog import services
from catalog.images import review_photo_prepare
from catalog.models import Review, ReviewPhoto
from catalog.rules import REVIEW_PHOTOS_MAX
from points.models import EarningRule
from tests.catalog.factories import delivered_order, image_upload, make_member, make_product, png_bytes, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture(autouse=True)
def _fresh_upload_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def member(client):
    member = make_member(points=900)
    client.force_login(member)
    return member


def _photos(n: int) -> list:
    # Each a different colour, so the stored order can be checked.
    return [image_upload(png_bytes((60, 40), (10 * i, 80, 40)), name=f"p{i}.png") for i in range(n)]


def test_six_photos_are_kept_in_the_order_sent(client, member, media):
    order = delivered_order(member, make_product(points_price=100))

    response = client.post(
        reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Six views.", "photos": _photos(6)}
    )

    assert response.status_code == 302
    photos = list(ReviewPhoto.objects.filter(review__order=order))
    assert [photo.sort for photo in photos] == [0, 1, 2, 3, 4, 5]
    colours = []
    for photo in photos:
        with Image.open(photo.photo.path) as stored:
            colours.append(stored.convert("RGB").getpixel((5, 5))[0])
    assert colours == sorted(colours)
    page = client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert page.count('class="review-photo"') == 6


def test_a_seventh_photo_is_refused_with_a_message_and_nothing_written_or_counted(client, member, media, settings):
    settings.UPLOAD_RATE_LIMIT = "6/h"
    order = delivered_order(member, make_product(points_price=100))
    before = written()

    response = client.post(
        reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Too many.", "photos": _photos(7)}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["photos"] == [
        f"A review can have up to {REVIEW_PHOTOS_MAX} photos; you sent 7. Choose again."
    ]
    assert written() == before
    assert list(media.rglob("*.*")) == []
    # Nothing was counted against the upload budget: six photos still go through.
    again = client.post(reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Six.", "photos": _photos(6)})
    assert again.status_code == 302
    assert ReviewPhoto.objects.count() == 6


def test_a_bad_photo_among_several_is_named_and_nothing_is_written(client, member, media):
    order = delivered_order(member, make_product(points_price=100))
    photos = [*_photos(2), image_upload(b"not an image", name="broken.png")]
    before = written()

    response = client.post(reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Hm.", "photos": photos})

    assert response.context["form"].errors["photos"][0].startswith("broken.png: This file is not an image we can use.")
    assert written() == before
    assert ReviewPhoto.objects.count() == 0


def test_the_service_refuses_more_than_six_photos():
    member = make_member(points=900)
    order = delivered_order(member, make_product(points_price=100))

    with pytest.raises(ValueError):
        services.review_post(order_id=order.pk, member_id=member.pk, rating=5, text="x", photos=[object()] * 7)
    assert not Review.objects.exists()


def test_removing_a_review_removes_its_photos(client, member, media):
    order = delivered_order(member, make_product(points_price=100))
    client.post(reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Bye.", "photos": _photos(3)})
    review = Review.objects.get()
    assert len([p for p in media.rglob("*") if p.is_file()]) == 3

    services.review_remove(review_id=review.pk, actor_id=member.pk)

    assert ReviewPhoto.objects.count() == 0


def test_the_form_says_what_the_review_rule_pays_now(client, member):
    order = delivered_order(member, make_product(points_price=100))
    EarningRule.objects.filter(source="review").update(points=12)

    html = client.get(reverse("order_review", args=[order.pk])).content.decode()

    assert 'data-points="12"' in html
    assert "Post your first review of this order to earn 12 points." in html


def test_the_form_promises_nothing_when_the_rule_is_off(client, member):
    order = delivered_order(member, make_product(points_price=100))
    EarningRule.objects.filter(source="review").update(active=False)

    html = client.get(reverse("order_review", args=[order.pk])).content.decode()

    assert 'data-testid="review-points"' not in html


def test_reviewers_names_are_masked_on_the_product_page(client, member):
    member.display_name = "Alexander"
    member.save(update_fields=["display_name"])
    order = delivered_order(member, make_product(points_price=100))
    services.review_post(order_id=order.pk, member_id=member.pk, rating=4, text="Fine.")

    html = client.get(reverse("product_detail", args=[order.product_id])).content.decode()

    assert '<strong data-testid="review-author">A***r</strong>' in html
    assert "Alexander" not in html


def test_the_admin_lists_and_shows_a_reviews_photos(admin_client, tmp_path):
    buyer = make_member(points=900)
    order = delivered_order(buyer, make_product(points_price=100))
    photos = [review_photo_prepare(upload=upload) for upload in _photos(2)]
    review = services.review_post(order_id=order.pk, member_id=buyer.pk, rating=5, text="Two.", photos=photos)

    listing = admin_client.get(reverse("admin:catalog_review_changelist"))
    page = admin_client.get(reverse("admin:catalog_review_change", args=[review.review_id]))

    assert listing.status_code == 200 and page.status_code == 200
    assert page.content.decode().count('class="pm-review-photo"') == 2


def test_the_same_photo_sent_twice_is_kept_once(client, member, media):
    order = delivered_order(member, make_product(points_price=100))
    same = png_bytes((60, 40), (200, 80, 40))
    photos = [image_upload(same, name="a.png"), _photos(1)[0], image_upload(same, name="a copy.png")]

    response = client.post(
        reverse("order_review", args=[order.pk]), {"rating": "5", "text": "Twice.", "photos": photos}
    )

    assert response.status_code == 302
    kept = [row.photo.path for row in ReviewPhoto.objects.filter(review__order=order).order_by("sort")]
    assert len(kept) == 2
    with Image.open(kept[0]) as first:
        assert first.convert("RGB").getpixel((5, 5))[0] > 150  # the repeated photo keeps its first place
