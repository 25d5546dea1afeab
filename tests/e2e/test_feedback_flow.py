"""Feedback in a real browser: a member sends feedback with a screenshot, an operator replies, and
the member reads the reply in the inbox and on the feedback page; the home page shows the
operators' banner and announcements. Screenshots at 390 and 1280 px."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from pointsmall.content import images, services
from pointsmall.content.models import Announcement, Banner, Feedback
from tests.factories import PASSWORD, MemberFactory, StaffFactory

pytestmark = pytest.mark.e2e


def picture(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def test_a_member_sends_feedback_with_a_screenshot_and_reads_the_reply(
    make_page, login, shot, transactional_db, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private_media"
    member = MemberFactory(display_name="小明 Ming")
    operator = StaffFactory()
    now = timezone.now()
    Announcement.objects.create(
        title_zh="积分商城全新上线",
        title_en="The points mall is open",
        body_zh="欢迎！",
        body_en="Welcome! **Check in** daily.",
        pinned=True,
        starts_at=now - timedelta(hours=1),
    )
    banner = Banner(title_zh="新品上架", title_en="New arrivals", link="/mall/", starts_at=now - timedelta(hours=1))
    upload = SimpleUploadedFile("b.png", picture((1600, 500), (214, 57, 43)), "image/png")
    services.banner_picture_attach(banner=banner, picture=images.banner_picture_prepare(upload=upload))
    banner.save()
    screenshot = tmp_path / "screen.png"
    screenshot.write_bytes(picture((390, 844), (40, 120, 200)))

    for width, height, mobile in ((1280, 900, False), (390, 844, True)):
        page = make_page(width=width, height=height, mobile=mobile)
        login(page, member.email, PASSWORD)
        page.goto("/")
        expect(page.get_by_test_id("content-banner")).to_have_count(1)
        expect(page.get_by_test_id("content-announcement")).to_contain_text("The points mall is open")
        shot(page, f"home-{width}")
        page.get_by_test_id("content-announcement").click()
        expect(page.get_by_test_id("announcement")).to_contain_text("Check in")
        shot(page, f"announcement-{width}")

        page.goto("/")
        page.get_by_test_id("feedback-link").click()
        form = page.get_by_test_id("feedback-form")
        form.locator("select[name=category]").select_option("bug")
        form.locator("textarea[name=text]").fill(f"The check-in button does nothing ({width} px).")
        picker = form.get_by_test_id("file-pick-name")
        expect(picker).to_have_text("No file chosen")  # the page's words, not the browser's
        form.locator("input[name=screenshot]").set_input_files(str(screenshot))
        expect(picker).to_have_text("screen.png")
        form.locator("input[name=contact]").fill("not-a-contact")
        page.get_by_test_id("feedback-send").click()
        # A browser can't refill a file input: the page says so.
        expect(page.get_by_test_id("feedback-reattach")).to_be_visible()
        form.locator("input[name=screenshot]").set_input_files(str(screenshot))
        form.locator("input[name=contact]").fill("ming@example.com")
        shot(page, f"feedback-form-{width}")
        page.get_by_test_id("feedback-send").click()
        expect(page.locator(".alert-success")).to_be_visible()
        item = page.get_by_test_id("feedback-item").first
        expect(item).to_contain_text(f"({width} px)")
        expect(item.get_by_test_id("feedback-status")).to_have_text("New")
        expect(item.locator(".fb-shot img")).to_be_visible()
        # Served by the private view to its member only (not under /media/).
        src = item.locator(".fb-shot img").get_attribute("src")
        assert src is not None and not src.startswith(settings.MEDIA_URL)
        answer = page.request.get(src)
        assert (answer.status, answer.headers["content-type"]) == (200, "image/jpeg")

        feedback = Feedback.objects.filter(member=member).latest("pk")
        assert feedback.screenshot.name.endswith(".jpg")
        services.feedback_reply(
            feedback_id=feedback.pk,
            reply=f"Thanks! Fixed for {width} px.",
            status="resolved",
            actor_id=operator.pk,
        )

        page.goto("/me/inbox/")
        message = page.get_by_test_id("inbox-item").filter(has_text=f"Reply to your feedback #{feedback.pk}")
        expect(message).to_contain_text(f"Thanks! Fixed for {width} px.")
        shot(page, f"inbox-{width}")
        page.goto("/feedback/")
        expect(page.get_by_test_id("feedback-reply").first).to_contain_text(f"Fixed for {width} px.")
        expect(page.get_by_test_id("feedback-status").first).to_have_text("Resolved")
        shot(page, f"feedback-replied-{width}")
