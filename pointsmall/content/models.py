"""Announcements (站内通知), home-page banners and members' feedback (意见反馈)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points.validators import SMALL_INT_MAX, validate_operator_text
from pointsmall.content import rules
from pointsmall.content.enums import FeedbackCategory, FeedbackStatus
from pointsmall.content.storage import private_storage
from pointsmall.kernel.language import pick_language

ANNOUNCEMENT_BODY_MAX = 5000
FEEDBACK_TEXT_MIN = 5
FEEDBACK_TEXT_MAX = 2000
FEEDBACK_REPLY_MAX = 1000
CONTACT_MAX = 80


class AnnouncementQuerySet(models.QuerySet):
    def live(self, now):
        """Not withdrawn and inside the publish window at ``now``."""
        return self.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), active=True, starts_at__lte=now)


class Announcement(models.Model):
    title_zh = models.CharField(_("title (Chinese)"), max_length=80, validators=[validate_operator_text])
    title_en = models.CharField(_("title (English)"), max_length=80, blank=True, validators=[validate_operator_text])
    body_zh = models.TextField(
        _("body (Chinese, Markdown)"),
        validators=[validate_operator_text, MaxLengthValidator(ANNOUNCEMENT_BODY_MAX)],
    )
    body_en = models.TextField(
        _("body (English, Markdown)"),
        blank=True,
        validators=[validate_operator_text, MaxLengthValidator(ANNOUNCEMENT_BODY_MAX)],
    )
    # Tier codes (points.selectors.tier_choices); empty: every member, and visitors too.
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    starts_at = models.DateTimeField(_("shown from"))
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True)
    pinned = models.BooleanField(_("pinned"), default=False)
    active = models.BooleanField(_("active"), default=True, help_text=_("Untick to withdraw it."))
    # Set once the inbox fan-out ran (content.announcements_publish): it runs once.
    published_at = models.DateTimeField(_("sent to inboxes"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-pinned", "-starts_at", "-pk"]
        indexes = [models.Index(fields=["active", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="content_announcement_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("announcement_detail", args=[self.pk])

    @property
    def title(self) -> str:
        return pick_language(zh=self.title_zh, en=self.title_en, fallback=True)

    @property
    def body_html(self) -> str:
        return rules.markdown_html(pick_language(zh=self.body_zh, en=self.body_en, fallback=True))


class Banner(models.Model):
    title_zh = models.CharField(_("title (Chinese)"), max_length=60, validators=[validate_operator_text])
    title_en = models.CharField(_("title (English)"), max_length=60, blank=True, validators=[validate_operator_text])
    alt_zh = models.CharField(
        _("picture description (Chinese)"), max_length=120, blank=True, validators=[validate_operator_text]
    )
    alt_en = models.CharField(
        _("picture description (English)"), max_length=120, blank=True, validators=[validate_operator_text]
    )
    image = models.ImageField(_("picture"), upload_to="banners/%Y/%m/")
    # Of the stored (re-encoded) picture, set with it (services.banner_picture_attach).
    width = models.PositiveIntegerField(_("width"), default=0, editable=False)
    height = models.PositiveIntegerField(_("height"), default=0, editable=False)
    link = models.CharField(
        _("link"), max_length=rules.LINK_MAX, help_text=_("A path on this site or an https:// address.")
    )
    starts_at = models.DateTimeField(_("shown from"))
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True)
    sort = models.PositiveSmallIntegerField(_("order"), default=0, validators=[MaxValueValidator(SMALL_INT_MAX)])
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("banner")
        verbose_name_plural = _("banners")
        ordering = ["sort", "-starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="content_banner_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return pick_language(zh=self.title_zh, en=self.title_en, fallback=True)

    @property
    def alt(self) -> str:
        return pick_language(zh=self.alt_zh, en=self.alt_en, fallback=True) or self.title


class Feedback(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("member")
    )
    category = models.CharField(_("category"), max_length=20, choices=FeedbackCategory.choices)
    text = models.TextField(_("text"), max_length=FEEDBACK_TEXT_MAX)
    # Private: outside MEDIA_ROOT, served only by views.feedback_screenshot (member or staff).
    screenshot = models.ImageField(_("screenshot"), upload_to="feedback/%Y/%m/", storage=private_storage, blank=True)
    contact = models.CharField(_("contact"), max_length=CONTACT_MAX, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW)
    reply = models.TextField(_("reply"), blank=True, max_length=FEEDBACK_REPLY_MAX)
    # Counts the replies sent: each one reaches the inbox once (dedupe key feedback:<id>:reply:<n>).
    reply_version = models.PositiveIntegerField(_("replies sent"), default=0, editable=False)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True, editable=False)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("replied by"),
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["member", "-created_at"]), models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"
