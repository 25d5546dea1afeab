"""Operators' admin for announcements, banners and feedback (意见反馈)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from accounts.uploads.exceptions import ImageRefusedError
from points import selectors as points_selectors
from points.validators import BoundedNumbersMixin
from pointsmall.content import images, rules, services
from pointsmall.content.exceptions import InvalidBannerLinkError
from pointsmall.content.models import Announcement, Banner, Feedback
from pointsmall.kernel.admin import apply_to_selected
from pointsmall.kernel.errors import DomainError, form_error, message_error


def _window_check(form: forms.ModelForm, data: dict[str, Any]) -> None:
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if starts and ends and ends <= starts:
        form.add_error("ends_at", _("It must end after it starts."))


def _start_now(form: forms.ModelForm) -> None:
    # An add form starts now: saved untouched, the announcement (or banner) shows at once.
    if form.instance.pk is None and "starts_at" in form.fields:
        form.fields["starts_at"].initial = timezone.now


class AnnouncementForm(forms.ModelForm):
    tiers = forms.MultipleChoiceField(
        label=_("tiers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked for every member (and visitors on the home page)."),
    )

    class Meta:
        model = Announcement
        fields = ("title_zh", "title_en", "body_zh", "body_en", "tiers", "starts_at", "ends_at", "pinned", "active")
        help_texts = {
            "body_zh": _(
                "Markdown: **bold**, *italic*, lists, ### headings, > quotes, `code`, [links](https://…). "
                "Pictures, HTML and scripts are removed."
            ),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tiers = self.fields["tiers"]
        assert isinstance(tiers, forms.MultipleChoiceField)
        tiers.choices = points_selectors.tier_choices()
        _start_now(self)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        _window_check(self, data)
        return data


@admin.register(Announcement)
class AnnouncementAdmin(SimpleHistoryAdmin):
    form = AnnouncementForm
    list_display = ("title_zh", "audience", "starts_at", "ends_at", "pinned", "active", "published_at")
    list_filter = ("active", "pinned")
    search_fields = ("title_zh", "title_en")
    date_hierarchy = "starts_at"
    readonly_fields = ("preview", "published_at", "created_by", "created_at", "updated_at")
    actions = ("withdraw",)

    @admin.display(description=_("audience"))
    def audience(self, obj: Announcement) -> str:
        if not obj.tiers:
            return str(_("All members"))
        names = dict(points_selectors.tier_choices())
        return ", ".join(names.get(code, code) for code in obj.tiers)

    @admin.display(description=_("preview"))
    def preview(self, obj: Announcement) -> str:
        if obj.pk is None:
            return "—"
        # Sanitised by rules.markdown_html: the same HTML members see.
        return format_html("<div>{}</div>", mark_safe(rules.markdown_html(obj.body_zh)))  # noqa: S308

    def save_model(self, request, obj: Announcement, form, change: bool) -> None:
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Withdraw the selected announcements"), permissions=["change"])
    def withdraw(self, request, queryset) -> None:
        apply_to_selected(
            self,
            request,
            queryset,
            lambda a: services.announcement_withdraw(announcement_id=a.pk),
            refused_message=lambda a, reason: f"{a}: {reason}",
            done_message=lambda n: (
                ngettext("%(n)s announcement withdrawn.", "%(n)s announcements withdrawn.", n) % {"n": n}
            ),
        )


class BannerForm(forms.ModelForm):
    upload = forms.FileField(
        label=_("picture"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP, up to 5 MB; wide pictures (about 16:5) fill the strip best."),
    )

    class Meta:
        model = Banner
        fields = ("title_zh", "title_en", "alt_zh", "alt_en", "link", "starts_at", "ends_at", "sort", "active")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: images.PreparedPicture | None = None
        _start_now(self)

    def clean_link(self) -> str:
        try:
            return services.banner_link_check(self.cleaned_data.get("link", ""))
        except InvalidBannerLinkError as error:
            raise forms.ValidationError(error.message, code=error.code) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        _window_check(self, data)
        upload = data.get("upload")
        if upload:
            try:
                self.prepared = images.banner_picture_prepare(upload=upload)
            except ImageRefusedError as error:
                form_error(self, error, "upload")
        elif self.instance.pk is None:
            self.add_error("upload", _("Choose a picture."))
        return data

    def save(self, commit: bool = True) -> Banner:
        banner = super().save(commit=False)
        if self.prepared is not None:
            services.banner_picture_attach(banner=banner, picture=self.prepared)
        if commit:
            banner.save()
        return banner


@admin.register(Banner)
class BannerAdmin(BoundedNumbersMixin, SimpleHistoryAdmin):
    form = BannerForm
    list_display = ("thumbnail", "title_zh", "link", "starts_at", "ends_at", "sort", "active")
    list_display_links = ("thumbnail", "title_zh")
    list_editable = ("sort", "active")
    list_filter = ("active",)
    readonly_fields = ("thumbnail",)

    @admin.display(description=_("picture"))
    def thumbnail(self, obj: Banner) -> str:
        if not obj.image:
            return "—"
        return format_html('<img src="{}" alt="" width="160" height="50" class="pm-thumb">', obj.image.url)


class FeedbackForm(forms.ModelForm):
    class Meta:
        model = Feedback
        fields = ("status", "reply")
        help_texts = {
            "reply": _(
                "Saving a new reply sends it to the member's inbox. A sent reply can't be withdrawn: "
                "write a correction instead."
            )
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "reply" in data and "status" in data:
            # The service's own check (it checks again under the row lock): clearing a sent
            # reply is refused here, on the form, rather than ignored.
            try:
                data["reply"] = services.feedback_reply_check(
                    feedback=self.instance, reply=data["reply"], status=data["status"]
                )
            except DomainError as error:
                form_error(self, error, "reply")
        return data


@admin.register(Feedback)
class FeedbackAdmin(SimpleHistoryAdmin):
    form = FeedbackForm
    list_display = ("id", "created_at", "member", "category", "status", "has_screenshot", "replied_at")
    list_filter = ("status", "category")
    search_fields = ("text", "member__email")
    date_hierarchy = "created_at"
    list_select_related = ("member",)
    readonly_fields = (
        "member",
        "category",
        "text",
        "screenshot_preview",
        "contact",
        "created_at",
        "replied_at",
        "replied_by",
    )
    fields = (
        "member",
        "category",
        "text",
        "screenshot_preview",
        "contact",
        "created_at",
        "status",
        "reply",
        "replied_at",
        "replied_by",
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # members send feedback; operators answer it

    @admin.display(description=_("screenshot"), boolean=True)
    def has_screenshot(self, obj: Feedback) -> bool:
        return bool(obj.screenshot)

    @admin.display(description=_("screenshot"))
    def screenshot_preview(self, obj: Feedback) -> str:
        if not obj.screenshot:
            return "—"
        return format_html(
            '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="" class="pm-review-photo"></a>',
            reverse("feedback_screenshot", args=[obj.pk]),
        )

    def save_model(self, request, obj: Feedback, form, change: bool) -> None:
        # The reply goes through the service: it counts the version and sends the inbox message.
        try:
            sent = services.feedback_reply(
                feedback_id=obj.pk, reply=obj.reply, status=obj.status, actor_id=request.user.pk
            )
        except DomainError as error:
            message_error(request, error)
            return
        if sent:
            self.message_user(request, _("The reply was sent to the member's inbox."))
