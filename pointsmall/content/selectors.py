"""Reads of the content app for pages and template tags: what a viewer may see now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from points import selectors as points_selectors
from pointsmall.content import rules
from pointsmall.content.exceptions import AnnouncementNotFoundError, FeedbackNotFoundError
from pointsmall.content.models import Announcement, Banner, Feedback

HOME_ANNOUNCEMENTS = 5


@dataclass(frozen=True)
class AnnouncementView:
    id: int
    title: str
    body_html: str
    starts_at: datetime
    pinned: bool
    url: str


@dataclass(frozen=True)
class BannerView:
    id: int
    title: str
    alt: str
    image_url: str
    width: int
    height: int
    link: str
    external: bool


@dataclass(frozen=True)
class FeedbackView:
    id: int
    category: str
    category_label: str
    text: str
    status: str
    status_label: str
    screenshot_url: str
    contact: str
    reply: str
    replied_at: datetime | None
    created_at: datetime


def _viewer_tier(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    tier = points_selectors.member_tier(user_id=user_id)
    return tier.code if tier else None


def _view(announcement: Announcement, *, body: bool) -> AnnouncementView:
    return AnnouncementView(
        id=announcement.pk,
        title=announcement.title,
        body_html=announcement.body_html if body else "",
        starts_at=announcement.starts_at,
        pinned=announcement.pinned,
        url=announcement.get_absolute_url(),
    )


def announcements_for(
    *, user_id: int | None, limit: int = HOME_ANNOUNCEMENTS, now: datetime | None = None
) -> list[AnnouncementView]:
    """The announcements shown to the viewer now, pinned first, then newest: "all members" ones
    for everyone (visitors too), tier ones only for members enjoying one of those tiers."""
    return announcements_for_tier(tier_code=_viewer_tier(user_id), limit=limit, now=now)


def announcements_for_tier(
    *, tier_code: str | None, limit: int = HOME_ANNOUNCEMENTS, now: datetime | None = None
) -> list[AnnouncementView]:
    """``announcements_for`` a viewer whose enjoyed tier's code is known (None: a visitor)."""
    now = now or timezone.now()
    tier = tier_code
    shown = []
    for announcement in Announcement.objects.live(now).order_by("-pinned", "-starts_at", "-pk")[:200]:
        if rules.for_audience(announcement.tiers, tier):
            shown.append(_view(announcement, body=False))
            if len(shown) >= limit:
                break
    return shown


def announcement_detail(*, announcement_id: int, user_id: int | None, now: datetime | None = None) -> AnnouncementView:
    """One announcement with its body as safe HTML. Raises AnnouncementNotFoundError when it does
    not exist, is withdrawn, outside its window or for tiers the viewer is not in."""
    now = now or timezone.now()
    announcement = Announcement.objects.live(now).filter(pk=announcement_id).first()
    if announcement is None or not rules.for_audience(announcement.tiers, _viewer_tier(user_id)):
        raise AnnouncementNotFoundError()
    return _view(announcement, body=True)


def banners_current(*, now: datetime | None = None) -> list[BannerView]:
    """The active banners inside their window now, in the operators' order."""
    now = now or timezone.now()
    banners = Banner.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), active=True, starts_at__lte=now)
    return [
        BannerView(
            id=b.pk,
            title=b.title,
            alt=b.alt,
            image_url=b.image.url,
            width=b.width,
            height=b.height,
            link=b.link,
            external=not b.link.startswith("/"),
        )
        for b in banners.order_by("sort", "-starts_at", "pk")[:8]
    ]


def feedback_of_member(*, member_id: int) -> list[FeedbackView]:
    """The member's own feedback, newest first (never anyone else's)."""
    return [
        FeedbackView(
            id=f.pk,
            category=f.category,
            category_label=f.get_category_display(),
            text=f.text,
            status=f.status,
            status_label=f.get_status_display(),
            screenshot_url=reverse("feedback_screenshot", args=[f.pk]) if f.screenshot else "",
            contact=f.contact,
            reply=f.reply if f.reply_version else "",
            replied_at=f.replied_at,
            created_at=f.created_at,
        )
        for f in Feedback.objects.filter(member_id=member_id).order_by("-created_at", "-pk")[:50]
    ]


# The formats services.feedback_submit stores (images._prepare), by the extension it gives them.
SCREENSHOT_TYPES = {"jpg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class ScreenshotFile:
    name: str  # in the private storage (storage.private_storage)
    content_type: str


def feedback_screenshot(*, feedback_id: int, user_id: int, staff_may_view: bool) -> ScreenshotFile:
    """The stored screenshot of one feedback, for the member who sent it or, when
    ``staff_may_view`` (staff with the content.view_feedback permission), for an operator.
    Raises FeedbackNotFoundError for anyone else, for a feedback without a screenshot and for a
    stored format we do not serve: the same answer whether the feedback exists or not."""
    feedback = Feedback.objects.filter(pk=feedback_id).only("member_id", "screenshot").first()
    if feedback is None or not (staff_may_view or feedback.member_id == user_id):
        raise FeedbackNotFoundError()
    name = feedback.screenshot.name or ""
    content_type = SCREENSHOT_TYPES.get(name.rsplit(".", 1)[-1].lower()) if name else None
    if content_type is None:
        raise FeedbackNotFoundError()
    return ScreenshotFile(name=name, content_type=content_type)
