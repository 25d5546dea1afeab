"""Feedback (意见反馈): the member's form (text rule, screenshot through the image decoder, contact,
rate limit counting only accepted feedback), "my feedback" (never anyone else's), and the
operator's reply reaching the inbox (a sent reply is corrected, never withdrawn)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Notification
from pointsmall.content import images, selectors, services
from pointsmall.content.enums import FeedbackCategory, FeedbackStatus
from pointsmall.content.exceptions import FeedbackReplyWithdrawalError, InvalidFeedbackError, InvalidFeedbackReplyError
from pointsmall.content.models import Feedback
from tests.content.conftest import files_under, png, upload
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

URL = reverse("feedback")


@pytest.fixture
def member_client(client, member, media_root):
    client.force_login(member)
    return client


def post(client, **fields):
    data = {"category": "bug", "text": "The check-in button does nothing.", "contact": "", **fields}
    return client.post(URL, data)


def test_a_member_sends_feedback_with_a_screenshot(member_client, member, media_root, private_root):
    response = post(member_client, screenshot=upload(png((900, 1600))), contact="member@example.com")

    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.member_id, feedback.category, feedback.status) == (member.pk, "bug", "new")
    assert feedback.text == "The check-in button does nothing."
    assert feedback.contact == "member@example.com"
    assert feedback.screenshot.name.endswith(".jpg")
    assert len(files_under(private_root)) == 1
    assert files_under(media_root) == []  # nothing under MEDIA_URL: no public address
    page = member_client.get(URL).content.decode()
    assert "The check-in button does nothing." in page
    assert reverse("feedback_screenshot", args=[feedback.pk]) in page


def test_a_bad_screenshot_is_refused_and_nothing_is_written(member_client, private_root):
    response = post(member_client, screenshot=upload(b"<?php echo 1; ?>", "shot.png"))

    assert response.status_code == 200
    assert "This file is not an image we can use." in response.content.decode()
    assert not Feedback.objects.exists()
    assert files_under(private_root) == []


@pytest.mark.parametrize("text", ["abc", "    ", "\u200b\u200b\u200b\u200b\u200b\u200b"])
def test_too_short_text_is_refused_and_nothing_is_written(member_client, text):
    response = post(member_client, text=text)

    assert response.status_code == 200
    assert not Feedback.objects.exists()


def test_too_short_text_says_how_long_it_must_be(member_client):
    page = post(member_client, text="hey").content.decode()

    assert "Describe the problem or idea in 5 to 2000 characters." in page


def test_text_with_direction_overrides_is_refused(member_client):
    response = post(member_client, text="Hello \u202eevil text here")

    assert response.status_code == 200
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("contact", ["not a contact", "abc@", "12"])
def test_a_bad_contact_is_refused(member_client, contact):
    page = post(member_client, contact=contact).content.decode()

    assert "Enter a phone number or an e-mail address, or leave it empty." in page
    assert not Feedback.objects.exists()


def test_the_service_refuses_what_the_form_would(member):
    with pytest.raises(InvalidFeedbackError):
        services.feedback_submit(member_id=member.pk, category="bug", text="abc")
    with pytest.raises(InvalidFeedbackError):
        services.feedback_submit(member_id=member.pk, category="nope", text="long enough text")
    assert not Feedback.objects.exists()


def test_the_page_needs_a_signed_in_member(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_member_sees_only_their_own_feedback(client, member, other_member):
    services.feedback_submit(member_id=member.pk, category=FeedbackCategory.POINTS, text="My points vanished")
    services.feedback_submit(member_id=other_member.pk, category=FeedbackCategory.OTHER, text="Private words of B")

    client.force_login(member)
    page = client.get(URL).content.decode()

    assert "My points vanished" in page
    assert "Private words of B" not in page
    assert [f.text for f in selectors.feedback_of_member(member_id=member.pk)] == ["My points vanished"]


def test_posting_is_rate_limited_per_member_with_a_429(member_client, settings):
    settings.FEEDBACK_RATE_LIMIT = "2/h"
    assert post(member_client, text="First message").status_code == 302
    assert post(member_client, text="Second message").status_code == 302

    response = post(member_client, text="Third message")

    assert response.status_code == 429
    assert "You have sent a lot of feedback in a short time. Try again in" in response.content.decode()
    assert list(Feedback.objects.order_by("pk").values_list("text", flat=True)) == ["First message", "Second message"]


def test_the_rate_counts_each_member_separately(client, settings, private_root):
    settings.FEEDBACK_RATE_LIMIT = "1/h"
    first, second = MemberFactory(), MemberFactory()
    client.force_login(first)
    assert post(client).status_code == 302
    client.force_login(second)
    assert post(client).status_code == 302


def test_refused_posts_do_not_count_toward_the_rate(member_client, settings):
    # Five typos in an hour used to lock the member out of feedback for the hour.
    settings.FEEDBACK_RATE_LIMIT = "5/h"
    for _ in range(20):
        assert post(member_client, text="abc").status_code == 200
    for contact in ("not a contact", "12"):
        assert post(member_client, contact=contact).status_code == 200

    assert post(member_client).status_code == 302
    assert Feedback.objects.count() == 1


def test_only_accepted_feedback_counts_toward_the_rate(member_client, settings):
    settings.FEEDBACK_RATE_LIMIT = "2/h"
    assert post(member_client, text="First message").status_code == 302
    assert post(member_client, text="abc").status_code == 200
    assert post(member_client, text="Second message").status_code == 302

    response = post(member_client, text="Third message")

    assert response.status_code == 429
    assert post(member_client, text="abc").status_code == 429  # refused before the form, too
    assert Feedback.objects.count() == 2


UPLOAD_LIMITED = "You have uploaded many pictures in a short time. Try again in"


def test_a_refused_post_does_not_spend_the_screenshot_upload(member_client, settings, private_root):
    settings.UPLOAD_RATE_LIMIT = "1/h"
    for fields in ({"text": "abc"}, {"contact": "not a contact"}, {"category": "nope"}):
        response = post(member_client, screenshot=upload(), **fields)
        assert response.status_code == 200
        assert UPLOAD_LIMITED not in response.content.decode()
    assert files_under(private_root) == []

    assert post(member_client, screenshot=upload()).status_code == 302
    assert len(files_under(private_root)) == 1
    # The budget itself still counts: the accepted screenshot used the only upload of the hour.
    response = post(member_client, text="Another message", screenshot=upload())
    assert response.status_code == 200
    assert UPLOAD_LIMITED in response.content.decode()
    assert Feedback.objects.count() == 1 and len(files_under(private_root)) == 1


def test_a_refused_screenshot_counts_as_an_upload(member_client, settings, private_root):
    # The picture was decoded: that is what the upload budget bounds (accounts.uploads.rate).
    settings.UPLOAD_RATE_LIMIT = "1/h"
    assert post(member_client, screenshot=upload(b"<?php echo 1; ?>", "shot.png")).status_code == 200

    response = post(member_client, screenshot=upload())

    assert response.status_code == 200
    assert UPLOAD_LIMITED in response.content.decode()
    assert not Feedback.objects.exists() and files_under(private_root) == []


# --- the screenshot is private -------------------------------------------------------------------


def shot_url(feedback_id: int) -> str:
    return reverse("feedback_screenshot", args=[feedback_id])


@pytest.fixture
def sent_shot(member, private_root) -> Feedback:
    shot = images.screenshot_prepare(upload=upload(png((400, 700))))
    feedback_id = services.feedback_submit(member_id=member.pk, category="bug", text="My balance!", screenshot=shot)
    return Feedback.objects.get(pk=feedback_id)


def test_the_member_sees_their_screenshot_privately(member_client, sent_shot, private_root):
    response = member_client.get(shot_url(sent_shot.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert {d.strip() for d in response["Cache-Control"].split(",")} == {"private", "no-store"}
    assert response["X-Content-Type-Options"] == "nosniff"
    stored = private_root / sent_shot.screenshot.name
    assert b"".join(response.streaming_content) == stored.read_bytes()


def test_the_screenshot_has_no_public_address(media_root, sent_shot, private_root):
    # Nothing under MEDIA_ROOT, which the web server serves at MEDIA_URL to anyone with the link.
    assert files_under(media_root) == []
    assert files_under(private_root) == [sent_shot.screenshot.name]
    with pytest.raises(ValueError, match="no public URL"):
        sent_shot.screenshot.url  # noqa: B018


def test_another_member_gets_404_for_a_screenshot(client, sent_shot, other_member):
    client.force_login(other_member)
    assert client.get(shot_url(sent_shot.pk)).status_code == 404
    assert client.get(shot_url(sent_shot.pk + 1000)).status_code == 404  # the same answer


def test_a_visitor_is_sent_to_sign_in_for_a_screenshot(client, sent_shot):
    client.logout()
    response = client.get(shot_url(sent_shot.pk))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_staff_without_the_feedback_permission_gets_404(client, sent_shot):
    clerk = MemberFactory(is_staff=True)
    client.force_login(clerk)
    assert client.get(shot_url(sent_shot.pk)).status_code == 404


def test_staff_allowed_to_view_feedback_see_the_screenshot(client, sent_shot):
    clerk = MemberFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_feedback", content_type__app_label="content"))
    client.force_login(clerk)
    assert client.get(shot_url(sent_shot.pk)).status_code == 200


def test_a_feedback_without_a_screenshot_is_404(member_client, member):
    feedback_id = services.feedback_submit(member_id=member.pk, category="bug", text="No picture here")
    assert member_client.get(shot_url(feedback_id)).status_code == 404


def test_the_admin_shows_the_screenshot_through_the_private_view(admin_client, sent_shot):
    page = admin_client.get(reverse("admin:content_feedback_change", args=[sent_shot.pk])).content.decode()
    assert f'src="{shot_url(sent_shot.pk)}"' in page
    assert admin_client.get(shot_url(sent_shot.pk)).status_code == 200


def test_a_refused_post_asks_to_attach_the_screenshot_again(member_client):
    response = post(member_client, contact="not-a-contact", screenshot=upload())

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="feedback-reattach"' in page
    assert "Attach your screenshot again" in page
    assert not Feedback.objects.exists()


def test_a_refused_post_without_a_screenshot_says_nothing_about_one(member_client):
    page = post(member_client, contact="not-a-contact").content.decode()
    assert 'data-testid="feedback-reattach"' not in page
    assert 'data-testid="feedback-reattach"' not in member_client.get(URL).content.decode()


# --- replies ------------------------------------------------------------------------------------


def messages_of(user) -> list[tuple[str, str, str, str]]:
    return list(
        Notification.objects.filter(user=user).order_by("pk").values_list("kind", "message_code", "dedupe_key", "link")
    )


def test_an_operator_reply_reaches_the_members_inbox_once(client, member, operator):
    feedback_id = services.feedback_submit(member_id=member.pk, category="redemption", text="Where is my mug?")

    assert services.feedback_reply(
        feedback_id=feedback_id, reply="Shipped today.", status=FeedbackStatus.RESOLVED, actor_id=operator.pk
    )
    assert not services.feedback_reply(
        feedback_id=feedback_id, reply="Shipped today.", status=FeedbackStatus.RESOLVED, actor_id=operator.pk
    )

    key = f"feedback:{feedback_id}:reply:1"
    assert messages_of(member) == [("account", "content.feedback_reply", key, URL)]
    client.force_login(member)
    inbox = client.get(reverse("inbox")).content.decode()
    assert f"Reply to your feedback #{feedback_id} (Products and redemption)" in inbox
    assert "Shipped today." in inbox
    page = client.get(URL).content.decode()
    assert "Shipped today." in page and "Resolved" in page


def test_a_changed_reply_is_sent_again_as_a_new_version(member, operator):
    feedback_id = services.feedback_submit(member_id=member.pk, category="bug", text="Button broken")
    services.feedback_reply(feedback_id=feedback_id, reply="Looking into it.", status="in_progress", actor_id=None)
    services.feedback_reply(feedback_id=feedback_id, reply="Fixed now.", status="resolved", actor_id=operator.pk)

    assert [row[2] for row in messages_of(member)] == [
        f"feedback:{feedback_id}:reply:1",
        f"feedback:{feedback_id}:reply:2",
    ]
    feedback = Feedback.objects.get()
    assert (feedback.reply, feedback.reply_version, feedback.status, feedback.replied_by_id) == (
        "Fixed now.",
        2,
        "resolved",
        operator.pk,
    )


def test_a_status_change_without_a_reply_sends_nothing(member):
    feedback_id = services.feedback_submit(member_id=member.pk, category="bug", text="Button broken")

    assert not services.feedback_reply(feedback_id=feedback_id, reply="", status="in_progress", actor_id=None)

    assert messages_of(member) == []
    assert Feedback.objects.get().status == "in_progress"


def test_a_too_long_reply_is_refused_and_nothing_is_written(member):
    feedback_id = services.feedback_submit(member_id=member.pk, category="bug", text="Button broken")

    with pytest.raises(InvalidFeedbackReplyError):
        services.feedback_reply(feedback_id=feedback_id, reply="x" * 1001, status="resolved", actor_id=None)

    assert messages_of(member) == []
    assert Feedback.objects.get().status == "new"


def test_the_admin_reply_goes_through_the_service(admin_client, member):
    feedback_id = services.feedback_submit(member_id=member.pk, category="points", text="Points missing")
    url = reverse("admin:content_feedback_change", args=[feedback_id])

    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"status": "resolved", "reply": "Added back, sorry!"})

    assert response.status_code == 302
    assert messages_of(member) == [("account", "content.feedback_reply", f"feedback:{feedback_id}:reply:1", URL)]
    assert admin_client.get(reverse("admin:content_feedback_changelist") + "?status__exact=resolved").status_code == 200


def test_a_sent_reply_cannot_be_withdrawn_by_clearing_it(member, operator):
    feedback_id = services.feedback_submit(member_id=member.pk, category="bug", text="Button broken")
    services.feedback_reply(feedback_id=feedback_id, reply="Fixed now.", status="resolved", actor_id=operator.pk)

    for cleared in ("", "   "):
        with pytest.raises(FeedbackReplyWithdrawalError):
            services.feedback_reply(feedback_id=feedback_id, reply=cleared, status="in_progress", actor_id=None)

    feedback = Feedback.objects.get()
    assert (feedback.reply, feedback.reply_version, feedback.status) == ("Fixed now.", 1, "resolved")
    assert len(messages_of(member)) == 1


def test_a_correction_is_sent_as_a_new_reply(member, operator):
    feedback_id = services.feedback_submit(member_id=member.pk, category="bug", text="Button broken")
    services.feedback_reply(feedback_id=feedback_id, reply="Fixed now.", status="resolved", actor_id=None)

    assert services.feedback_reply(
        feedback_id=feedback_id, reply="Sorry, not fixed yet: next week.", status="in_progress", actor_id=operator.pk
    )

    assert Feedback.objects.get().reply == "Sorry, not fixed yet: next week."
    assert [row[2] for row in messages_of(member)] == [
        f"feedback:{feedback_id}:reply:1",
        f"feedback:{feedback_id}:reply:2",
    ]


def test_the_admin_refuses_clearing_a_sent_reply_and_writes_nothing(admin_client, member):
    feedback_id = services.feedback_submit(member_id=member.pk, category="points", text="Points missing")
    services.feedback_reply(feedback_id=feedback_id, reply="Added back, sorry!", status="resolved", actor_id=None)
    url = reverse("admin:content_feedback_change", args=[feedback_id])

    response = admin_client.post(url, {"status": "in_progress", "reply": ""})

    assert response.status_code == 200
    assert "A reply can&#x27;t be withdrawn once it was sent" in response.content.decode()
    feedback = Feedback.objects.get()
    assert (feedback.reply, feedback.reply_version, feedback.status) == ("Added back, sorry!", 1, "resolved")
    assert len(messages_of(member)) == 1


def test_the_admin_changes_only_the_status_while_keeping_a_sent_reply(admin_client, member):
    feedback_id = services.feedback_submit(member_id=member.pk, category="points", text="Points missing")
    services.feedback_reply(feedback_id=feedback_id, reply="Looking into it.", status="in_progress", actor_id=None)
    url = reverse("admin:content_feedback_change", args=[feedback_id])

    response = admin_client.post(url, {"status": "resolved", "reply": "Looking into it."})

    assert response.status_code == 302
    assert Feedback.objects.get().status == "resolved"
    assert len(messages_of(member)) == 1
