"""The only code that writes the content app's tables: announcements' inbox fan-out, banners'
pictures, members' feedback and operators' replies."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.enums import NotificationKind
from points import selectors as points_selectors
from pointsmall.content import notices, rules
from pointsmall.content.enums import FeedbackCategory, FeedbackStatus
from pointsmall.content.exceptions import (
    FeedbackNotFoundError,
    FeedbackReplyWithdrawalError,
    InvalidBannerLinkError,
    InvalidContactError,
    InvalidFeedbackError,
    InvalidFeedbackReplyError,
)
from pointsmall.content.images import PreparedPicture
from pointsmall.content.models import (
    CONTACT_MAX,
    FEEDBACK_REPLY_MAX,
    FEEDBACK_TEXT_MAX,
    FEEDBACK_TEXT_MIN,
    Announcement,
    Banner,
    Feedback,
)

logger = logging.getLogger(__name__)


def announcements_publish(*, now: datetime | None = None) -> int:
    """Send each announcement whose window has started (and not ended) to its audience's inboxes,
    once; return how many messages were written.

    Each announcement is claimed in its own short transaction (``FOR UPDATE SKIP LOCKED``, so two
    runs never send the same one) and marked ``published_at`` with its messages. Safe to call
    twice: a published announcement is skipped, and the inbox's dedupe key
    ``announcement:<id>`` skips any member who already has it. A withdrawn announcement is not sent.
    """
    now = now or timezone.now()
    due = (
        Announcement.objects.live(now)
        .filter(published_at__isnull=True)
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)
    )
    sent = 0
    for announcement_id in list(due):
        sent += _publish_one(announcement_id, now)
    return sent


@transaction.atomic
def _publish_one(announcement_id: int, now: datetime) -> int:
    announcement = (
        Announcement.objects.select_for_update(skip_locked=True)
        .live(now)
        .filter(pk=announcement_id, published_at__isnull=True)
        .first()
    )
    if announcement is None:
        return 0
    user_ids = points_selectors.tier_member_ids(codes=list(announcement.tiers) or None, now=now)
    notice = notices.announcement(title_zh=announcement.title_zh, title_en=announcement.title_en)
    count = accounts_services.notifications_send_bulk(
        user_ids=user_ids,
        kind=NotificationKind.ANNOUNCEMENT,
        dedupe_key=f"announcement:{announcement.pk}",
        link=announcement.get_absolute_url(),
        **notice.message,
    )
    Announcement.objects.filter(pk=announcement.pk).update(published_at=now)
    logger.info("announcement %s sent to %s inboxes", announcement.pk, count)
    return count


@transaction.atomic
def announcement_withdraw(*, announcement_id: int) -> bool:
    """Take an announcement off the home page and its page; inbox messages already sent stay
    but their link then shows "not found". Returns whether it changed. Safe to call twice."""
    return bool(Announcement.objects.filter(pk=announcement_id, active=True).update(active=False))


def banner_link_check(link: str) -> str:
    """The link stripped, or InvalidBannerLinkError: a path on this site or an https URL."""
    link = (link or "").strip()
    if not rules.is_banner_link(link):
        raise InvalidBannerLinkError()
    return link


def banner_picture_attach(*, banner: Banner, picture: PreparedPicture) -> None:
    """Put a prepared picture on an (unsaved or existing) banner; the caller saves it."""
    banner.image.save(f"{uuid.uuid4().hex}.{picture.extension}", ContentFile(picture.image), save=False)
    banner.width, banner.height = picture.width, picture.height


def _feedback_check(category: str, text: str, contact: str) -> tuple[str, str]:
    text = (text or "").strip()
    if category not in FeedbackCategory.values or not FEEDBACK_TEXT_MIN <= len(text) <= FEEDBACK_TEXT_MAX:
        raise InvalidFeedbackError(min=FEEDBACK_TEXT_MIN, max=FEEDBACK_TEXT_MAX)
    contact = (contact or "").strip()
    if contact and (len(contact) > CONTACT_MAX or not rules.is_contact(contact)):
        raise InvalidContactError()
    return text, contact


@transaction.atomic
def feedback_submit(
    *, member_id: int, category: str, text: str, contact: str = "", screenshot: PreparedPicture | None = None
) -> int:
    """Store a member's feedback and return its id.

    ``text`` is already cleaned by the member text rule (``accounts.fields.MemberTextField``);
    ``screenshot`` is a picture already checked by ``images.screenshot_prepare``. Refuses with
    InvalidFeedbackError (category, 5–2000 characters) or InvalidContactError, writing nothing.
    Locks nothing. Not idempotent: each call stores one feedback (the view's rate bounds it).
    """
    text, contact = _feedback_check(category, text, contact)
    feedback = Feedback(member_id=member_id, category=category, text=text, contact=contact)
    if screenshot is None:
        feedback.save()
        return feedback.pk
    feedback.screenshot.save(f"{uuid.uuid4().hex}.{screenshot.extension}", ContentFile(screenshot.image), save=False)
    try:
        feedback.save()
    except Exception:
        # The row was not written: its picture must not stay behind.
        if feedback.screenshot.name:
            feedback.screenshot.storage.delete(feedback.screenshot.name)
        raise
    return feedback.pk


def feedback_reply_check(*, feedback: Feedback, reply: str, status: str) -> str:
    """The reply stripped, or a refusal for this feedback: InvalidFeedbackReplyError (too long,
    unknown status) or FeedbackReplyWithdrawalError (an empty reply once one was sent: a message
    in the member's inbox can't be unsent, so the old reply is never cleared silently; a
    correction is a new reply text). Reads only ``feedback``; writes nothing."""
    reply = (reply or "").strip()
    if status not in FeedbackStatus.values or len(reply) > FEEDBACK_REPLY_MAX:
        raise InvalidFeedbackReplyError(max=FEEDBACK_REPLY_MAX)
    if not reply and feedback.reply_version > 0:
        raise FeedbackReplyWithdrawalError()
    return reply


@transaction.atomic
def feedback_reply(*, feedback_id: int, reply: str, status: str, actor_id: int | None) -> bool:
    """An operator sets the feedback's status and, when the reply text changed, sends it to the
    member's inbox in the same transaction; returns whether a reply was sent.

    ``reply`` is the reply as it should stand: empty before any reply means "no reply yet" (a
    status change only); once a reply was sent it can't be emptied (FeedbackReplyWithdrawalError:
    send a correction). Each new reply text counts one version and reaches the inbox once
    (dedupe key ``feedback:<id>:reply:<version>``, kind "account"). Raises FeedbackNotFoundError,
    InvalidFeedbackReplyError (too long, unknown status) or FeedbackReplyWithdrawalError,
    writing nothing. Locks the feedback row. Safe to call twice with the same reply: nothing new
    is sent.
    """
    feedback = Feedback.objects.select_for_update().filter(pk=feedback_id).first()
    if feedback is None:
        raise FeedbackNotFoundError()
    reply = feedback_reply_check(feedback=feedback, reply=reply, status=status)
    changed = bool(reply) and (reply != feedback.reply or feedback.reply_version == 0)
    feedback.status = status
    fields = ["status", "updated_at"]
    if changed:
        feedback.reply = reply
        # The row is locked above; a plain increment (not F()) keeps simple_history's copy a number.
        feedback.reply_version += 1
        feedback.replied_at = timezone.now()
        feedback.replied_by_id = actor_id
        fields += ["reply", "reply_version", "replied_at", "replied_by"]
    feedback.save(update_fields=fields)
    if changed:
        notice = notices.feedback_reply(feedback_id=feedback.pk, category=feedback.category, status=status, reply=reply)
        member_id, key = feedback.member_id, f"feedback:{feedback.pk}:reply:{feedback.reply_version}"
        accounts_services.notification_send(
            user_id=member_id, kind=NotificationKind.ACCOUNT, dedupe_key=key, link=reverse("feedback"), **notice.message
        )
    return changed
