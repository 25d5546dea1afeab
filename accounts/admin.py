"""Admin for members: users (e-mail login), addresses and inbox messages, read-only where services own the writes."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from accounts import rules
from accounts.exceptions import InvalidPhone
from accounts.models import Address, Notification, User


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
        # Same canonical form as the profile page, so the unique constraint catches one phone typed two ways.
        return _admin_clean_phone(self)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = MemberChangeForm
    add_form = MemberCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name", "phone", "language", "avatar", "avatar_thumbnail")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    readonly_fields = ("avatar_thumbnail", "last_login", "date_joined")
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
    list_display = ("user", "kind", "title", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("user__email", "title")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    fields = ("user", "kind", "title", "body", "link", "created_at", "read_at")
