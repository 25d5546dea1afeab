"""In a real browser: a profile or review sent back for a typo asks for the picture again (a browser
can't refill a file input), and the second post, with the picture, goes through. Screenshots at 390
and 1280 px."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.catalog.factories import delivered_order, make_member, make_product
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_a_typo_asks_for_the_avatar_and_the_review_photo_again(
    make_page, login, shot, transactional_db, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    picture = tmp_path / "me.png"
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (40, 120, 200)).save(out, "PNG")
    picture.write_bytes(out.getvalue())
    member = make_member(points=900)
    orders = [delivered_order(member, make_product(points_price=100)) for _ in range(2)]

    for (width, height, mobile), order in zip(((1280, 900, False), (390, 844, True)), orders, strict=True):
        page = make_page(width=width, height=height, mobile=mobile)
        login(page, member.email, PASSWORD)

        page.goto("/me/profile/")
        form = page.get_by_test_id("profile-form")
        form.locator("input[name=avatar]").set_input_files(str(picture))
        form.locator("input[name=phone]").fill("12")
        form.locator("button[type=submit]").click()
        expect(page.get_by_test_id("avatar-reattach")).to_be_visible()
        shot(page, f"profile-again-{width}")
        form = page.get_by_test_id("profile-form")
        form.locator("input[name=avatar]").set_input_files(str(picture))
        form.locator("input[name=phone]").fill("")
        form.locator("button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("Your profile is saved.")

        page.goto(f"/mall/orders/{order.pk}/review/")
        form = page.get_by_test_id("review-form")
        form.locator("input[name=photos]").set_input_files(str(picture))
        form.locator("textarea[name=text]").fill("Sturdy and well made.")
        page.get_by_test_id("post-review").click()  # no stars chosen
        expect(page.get_by_test_id("review-reattach")).to_be_visible()
        shot(page, f"review-again-{width}")
        form = page.get_by_test_id("review-form")
        form.locator("label[for=rating-5]").click()
        form.locator("input[name=photos]").set_input_files(str(picture))
        page.get_by_test_id("post-review").click()
        expect(page.get_by_test_id("review-reattach")).to_have_count(0)
        expect(page.get_by_text("Thanks for your review")).to_be_visible()
