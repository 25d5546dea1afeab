"""Admin for members: users (e-mail login), addresses, inbox messages, invite codes and referrals.

Read-only where services own the writes; referrals are reviewed with approve/deny actions.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from accounts import rules, services
from accounts.exceptions import InvalidPhone, InvalidText
from accounts.models import Address, EmailProviderRule, IdentityPolicy, InviteCode, Notification, Referral, User
from points.exceptions import DomainError


def _admin_clean_phone(form: forms.ModelForm) -> str | None:
    value = form.cleaned_data.get("phone")
    if not value:
        return None
    normalized = rules.normalize_phone(value)
    if normalized is None:
        raise forms.ValidationError(InvalidPhone().message)
    return normalized


class MemberCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class MemberChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = (
            "email",
            "password",
            "display_name",
            "phone",
            "language",
            "avatar",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )

    def clean_phone(self) -> str | None:
        # Same canonical form as the profile page, so one phone typed two ways is one phone.
        return _admin_clean_phone(self)

    def clean_display_name(self) -> str:
        # What other members see: the same text rule as the member's own profile form.
        try:
            return rules.clean_member_text(self.cleaned_data.get("display_name") or "")
        except rules.UnsafeText:
            raise forms.ValidationError(InvalidText().message) from None

    def save(self, commit: bool = True):
        # A number changed by hand is not verified: only its holder can verify it (by SMS code).
        if self.cleaned_data.get("phone") != self.initial.get("phone"):
            self.instance.phone_verified_at = None
        return super().save(commit=commit)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = MemberChangeForm
    add_form = MemberCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("Profile"),
            {"fields": ("display_name", "phone", "phone_verified_at", "language", "avatar", "avatar_thumbnail")},
        ),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    readonly_fields = ("avatar_thumbnail", "phone_verified_at", "last_login", "date_joined")
    list_display = ("email", "display_name", "phone", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined", "groups")
    search_fields = ("email", "display_name", "phone")
    ordering = ("-date_joined",)
    show_full_result_count = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """The rows are written by accounts.services only; staff look, and support answers from what they see."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Address)
class AddressAdmin(ReadOnlyAdmin):
    list_display = ("user", "recipient", "phone", "province", "city", "district", "is_default", "created_at")
    list_filter = ("is_default", "province")
    search_fields = ("user__email", "recipient", "phone")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    fields = (
        "user",
        "recipient",
        "phone",
        "province",
        "city",
        "district",
        "detail",
        "postal_code",
        "is_default",
        "created_at",
        "updated_at",
    )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "shown_title", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("user__email", "title", "message_code")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    fields = (
        "user",
        "kind",
        "shown_title",
        "shown_body",
        "message_code",
        "params",
        "title",
        "body",
        "link",
        "created_at",
        "read_at",
    )
    readonly_fields = ("shown_title", "shown_body")

    # What the member reads, rendered in the operator's language from the stored code.
    @admin.display(description=_("title"))
    def shown_title(self, notification: Notification) -> str:
        return notification.text().title

    @admin.display(description=_("body"))
    def shown_body(self, notification: Notification) -> str:
        return notification.text().body


@admin.register(InviteCode)
class InviteCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "user", "created_at")
    search_fields = ("code", "user__email")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    fields = ("user", "code", "created_at")


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    """Invitations, and the review of those held as suspicious: approve pays what they earned."""

    list_display = (
        "invitee",
        "inviter",
        "status",
        "signup_ip",
        "created_at",
        "verified_at",
        "signup_points",
        "first_order_points",
        "reviewed_by",
    )
    list_filter = (
        "status",
        "held_reason",
        "no_reward_reason",
        "created_at",
        ("verified_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("inviter__email", "invitee__email", "=signup_ip")
    list_select_related = ("inviter", "invitee", "reviewed_by")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("approve_referrals", "deny_referrals")
    fields = (
        "invitee",
        "inviter",
        "created_at",
        "signup_ip",
        "status",
        "held_reason",
        "reviewed_by",
        "reviewed_at",
        "verified_at",
        "rewarded_at",
        "no_reward_reason",
        "signup_points",
        "first_order_reference",
        "first_order_available_at",
        "first_order_points",
        "first_order_withdrawn_at",
    )

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("accounts.review_referral")

    def _review(self, request, queryset, service) -> int:
        """Run ``service`` on each selected referral; refusals are listed, the rest counted."""
        done = 0
        for referral_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                service(referral_id=referral_id, reviewer_id=request.user.pk)
            except DomainError as error:
                self.message_user(request, f"#{referral_id}: {error.message}", messages.WARNING)
            else:
                done += 1
        return done

    @admin.action(description=_("Approve the selected held referrals (pays their rewards)"), permissions=["review"])
    def approve_referrals(self, request, queryset) -> None:
        if done := self._review(request, queryset, services.referral_approve):
            message = ngettext("%(n)s referral approved.", "%(n)s referrals approved.", done) % {"n": done}
            self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Deny the selected referrals (no rewards)"), permissions=["review"])
    def deny_referrals(self, request, queryset) -> None:
        if done := self._review(request, queryset, services.referral_deny):
            message = ngettext("%(n)s referral denied.", "%(n)s referrals denied.", done) % {"n": done}
            self.message_user(request, message, messages.SUCCESS)


# A host name in punycode: labels of letters, digits and inner hyphens, at least one dot.
_DOMAIN = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


class EmailProviderRuleForm(forms.ModelForm):
    class Meta:
        model = EmailProviderRule
        fields = ("domain", "ignore_dots", "same_as")

    def _domain(self, name: str) -> str:
        value = rules.normalize_domain(self.cleaned_data.get(name) or "")
        if value and not _DOMAIN.fullmatch(value):
            raise forms.ValidationError(_("Enter a domain name such as gmail.com, without @ or spaces."))
        return value

    def clean_domain(self) -> str:
        return self._domain("domain")

    def clean_same_as(self) -> str:
        return self._domain("same_as")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("same_as") and data.get("same_as") == data.get("domain"):
            self.add_error("same_as", _("A domain cannot be the same mailboxes as itself; leave this empty."))
        return data


class EmailProviderRuleInline(admin.TabularInline):
    model = EmailProviderRule
    form = EmailProviderRuleForm
    fields = ("domain", "ignore_dots", "same_as")
    extra = 0


@admin.register(IdentityPolicy)
class IdentityPolicyAdmin(SimpleHistoryAdmin):
    """One row, pk=1, made by a migration: how addresses that reach one mailbox are one person.

    Changes apply to claims made from then on; what was claimed before keeps its hashes."""

    list_display = ("__str__", "ignore_plus_tags")
    fields = ("ignore_plus_tags",)
    inlines = (EmailProviderRuleInline,)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
