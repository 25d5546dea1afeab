"""A member's picture is decoded and counted only once the rest of the form is valid (accounts.uploads.forms).

The review photo and the avatar, like the feedback screenshot (tests/content/test_feedback.py): a post
refused for its rating, text, phone or name costs no upload and is asked to attach the picture again;
a refused picture counts (its decode was the cost); an accepted post counts once.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from catalog.models import Review, ReviewPhoto
from tests.catalog.factories import delivered_order, image_upload, make_member, make_product, written

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

UPLOAD_LIMITED = "You have uploaded many pictures in a short time. Try again in"
PROFILE = reverse("profile")


@pytest.fixture(autouse=True)
def _fresh_counts():
    # Upload counts live in the cache (Redis here): one test's uploads must not count against the next.
    cache.clear()
    yield
    cache.clear()


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- the review photo ------------------------------------------------------------------------------


@pytest.fixture
def reviewer(client):
    member = make_member(points=900)
    client.force_login(member)
    return member


def review(client, order, **fields):
    data = {"rating": "5", "text": "Nice and sturdy."} | fields
    return client.post(reverse("order_review", args=[order.pk]), data)


@pytest.mark.parametrize("refused", [{"rating": "9"}, {"rating": ""}, {"text": ""}, {"text": "x" * 1001}])
def test_a_refused_review_does_not_spend_the_photo_upload(client, reviewer, media_root, settings, refused):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    order = delivered_order(reviewer, make_product(points_price=100))
    before = written()
    for _ in range(3):
        response = review(client, order, photos=image_upload(), **refused)
        assert response.status_code == 200
        page = response.content.decode()
        assert UPLOAD_LIMITED not in page
        assert "photos" not in response.context["form"].errors
        assert 'data-testid="review-reattach"' in page
        assert "Attach your picture again" in page
    assert written() == before and files_under(media_root) == []

    assert review(client, order, photos=image_upload()).status_code == 302
    assert ReviewPhoto.objects.filter(review__order=order).count() == 1


def test_an_accepted_review_counts_its_photo_once(client, reviewer, media_root, settings):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    first = delivered_order(reviewer, make_product(points_price=100))
    second = delivered_order(reviewer, make_product(points_price=100))
    assert review(client, first, photos=image_upload()).status_code == 302

    response = review(client, second, photos=image_upload())

    assert response.status_code == 200
    assert response.context["form"].errors["photos"][0].startswith(UPLOAD_LIMITED)
    # The refusal is the photo's own: no "attach it again" note beside it.
    assert 'data-testid="review-reattach"' not in response.content.decode()
    assert not Review.objects.filter(order=second).exists()


def test_a_refused_review_photo_counts_as_an_upload(client, reviewer, media_root, settings):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    order = delivered_order(reviewer, make_product(points_price=100))
    response = review(client, order, photos=image_upload(b"not an image at all", name="x.png"))
    assert response.context["form"].errors["photos"][0].startswith("This file is not an image we can use.")

    response = review(client, order, photos=image_upload())

    assert response.context["form"].errors["photos"][0].startswith(UPLOAD_LIMITED)
    assert not Review.objects.filter(order=order).exists() and files_under(media_root) == []


def test_a_review_without_a_photo_asks_for_none_again(client, reviewer):
    order = delivered_order(reviewer, make_product(points_price=100))
    page = review(client, order, text="").content.decode()
    assert 'data-testid="review-reattach"' not in page
    assert 'data-testid="review-reattach"' not in client.get(reverse("order_review", args=[order.pk])).content.decode()


# --- the avatar ------------------------------------------------------------------------------------


def profile(client, **fields):
    return client.post(PROFILE, {"display_name": "Changed", "phone": "", "language": "en"} | fields)


def avatar_state(user) -> tuple:
    user.refresh_from_db()
    return (user.display_name, user.phone, user.avatar.name)


@pytest.mark.parametrize("refused", [{"phone": "12"}, {"phone": "not a phone"}, {"language": "xx"}])
def test_a_refused_profile_does_not_spend_the_avatar_upload(client, member, media_root, settings, refused):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    client.force_login(member)
    before = avatar_state(member)
    for _ in range(3):
        response = profile(client, avatar=image_upload(), **refused)
        assert response.status_code == 200
        page = response.content.decode()
        assert UPLOAD_LIMITED not in page
        assert "avatar" not in response.context["form"].errors
        assert 'data-testid="avatar-reattach"' in page
    assert avatar_state(member) == before and files_under(media_root) == []

    assert profile(client, avatar=image_upload()).status_code == 302
    member.refresh_from_db()
    assert member.avatar.name.endswith(".jpg")


def test_a_refused_display_name_does_not_spend_the_avatar_upload(client, member, media_root, settings):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    client.force_login(member)
    before = avatar_state(member)
    for _ in range(3):
        response = profile(client, display_name="x" * 41, avatar=image_upload())
        assert response.context["form"].errors["display_name"]
        assert "avatar" not in response.context["form"].errors
    assert avatar_state(member) == before and files_under(media_root) == []

    assert profile(client, avatar=image_upload()).status_code == 302


def test_an_accepted_profile_counts_its_avatar_once(client, member, media_root, settings):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    client.force_login(member)
    assert profile(client, avatar=image_upload()).status_code == 302
    before = avatar_state(member)

    response = profile(client, display_name="Again", avatar=image_upload())

    assert response.status_code == 200
    assert response.context["form"].errors["avatar"][0].startswith(UPLOAD_LIMITED)
    assert 'data-testid="avatar-reattach"' not in response.content.decode()
    assert avatar_state(member) == before


def test_a_refused_avatar_counts_as_an_upload(client, member, media_root, settings):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    client.force_login(member)
    before = avatar_state(member)
    response = profile(client, avatar=image_upload(b"<?php echo 1; ?>", name="me.png"))
    assert response.context["form"].errors["avatar"][0].startswith("This file is not an image we can use.")

    response = profile(client, avatar=image_upload())

    assert response.context["form"].errors["avatar"][0].startswith(UPLOAD_LIMITED)
    assert avatar_state(member) == before and files_under(media_root) == []


def test_avatar_and_review_photo_refusals_elsewhere_leave_the_shared_budget_whole(
    client, reviewer, media_root, settings
):
    # One budget for every member picture: typos on either form spend none of it.
    settings.UPLOAD_RATE_LIMIT = "1/h"
    order = delivered_order(reviewer, make_product(points_price=100))
    for _ in range(3):
        assert profile(client, phone="12", avatar=image_upload()).status_code == 200
        assert review(client, order, text="", photos=image_upload()).status_code == 200
    assert review(client, order, photos=image_upload()).status_code == 302
    assert profile(client, avatar=image_upload()).context["form"].errors["avatar"][0].startswith(UPLOAD_LIMITED)
