"""The third-party models in our admin, under the rule our own admins follow.

Django, allauth and django-celery-beat register admins that trust the permission rows
alone. Some of their models *are* power: a group's permissions, a member's verified
e-mail (the key to a password reset), a linked social login, an authenticator, the
Site's domain (the links in every e-mail), and a periodic task (which job runs, with
which arguments, under the system's authority). Writing those is for superusers only,
whatever permissions a staff group is given, so no staff member can grant themselves or
anyone else more than they have. See docs/decisions/0013-staff-privileges.md.

This module is imported last by the admin's autodiscovery (``pointsmall`` is the last
installed app), after the third-party admins have registered; it re-registers each one
as a subclass that keeps its columns, filters and forms.
"""

from __future__ import annotations

from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from allauth.socialaccount.admin import SocialAccountAdmin as AllauthSocialAccountAdmin
from allauth.socialaccount.admin import SocialAppAdmin as AllauthSocialAppAdmin
from allauth.socialaccount.admin import SocialTokenAdmin as AllauthSocialTokenAdmin
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group
from django.contrib.sites.admin import SiteAdmin as DjangoSiteAdmin
from django.contrib.sites.models import Site
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask


class SuperuserWritesMixin:
    """Anyone with the view permission may look; only superusers add, change, delete or run actions."""

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        # Third-party actions often declare no permission, so Django offers them to viewers too.
        return super().get_actions(request) if request.user.is_superuser else {}


class SuperuserOnlyMixin(SuperuserWritesMixin):
    """Secrets (OAuth client secrets, access tokens, TOTP seeds): superusers only, even to look."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)


def _replace(model, admin_class) -> None:
    admin.site.unregister(model)
    admin.site.register(model, admin_class)


class GroupAdmin(SuperuserWritesMixin, DjangoGroupAdmin):
    pass


class SiteAdmin(SuperuserWritesMixin, DjangoSiteAdmin):
    pass


class EmailAddressAdmin(SuperuserWritesMixin, AllauthEmailAddressAdmin):
    pass


class SocialAccountAdmin(SuperuserWritesMixin, AllauthSocialAccountAdmin):
    pass


class SocialAppAdmin(SuperuserOnlyMixin, AllauthSocialAppAdmin):
    pass


class SocialTokenAdmin(SuperuserOnlyMixin, AllauthSocialTokenAdmin):
    pass


class AuthenticatorAdmin(SuperuserOnlyMixin, AllauthAuthenticatorAdmin):
    pass


# What other staff may change on a periodic task: whether and when it runs, not what it runs.
SCHEDULE_FIELDS = ("enabled", "description", "interval", "crontab", "solar", "clocked", "start_time", "one_off")


class PeriodicTaskScheduleForm(forms.ModelForm):
    class Meta:
        model = PeriodicTask
        fields = SCHEDULE_FIELDS


class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    """Operators pause, resume and re-time the mall's jobs; only superusers choose a task and its arguments.

    A task and its arguments run with the system's authority (``catalog.sandbox_gateway_deliver`` with
    an order's payment reference marks it paid), so they, adding, deleting and "run now" are
    superusers' alone.
    """

    actions = ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks")
    operator_fieldsets = (
        (None, {"fields": ("name", "task", "enabled", "description")}),
        (
            _("Schedule"),
            {"fields": ("interval", "crontab", "solar", "clocked", "start_time", "last_run_at", "one_off")},
        ),
        (_("Arguments"), {"fields": ("args", "kwargs")}),
        (
            _("Execution Options"),
            {"fields": ("expires", "expire_seconds", "queue", "exchange", "routing_key", "priority", "headers")},
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def get_fieldsets(self, request: HttpRequest, obj=None):
        return super().get_fieldsets(request, obj) if request.user.is_superuser else self.operator_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        if request.user.is_superuser:
            return tuple(super().get_readonly_fields(request, obj))
        fields = [name for _title, options in self.operator_fieldsets for name in options["fields"]]
        return tuple(name for name in fields if name not in SCHEDULE_FIELDS)

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        if not request.user.is_superuser:
            kwargs["form"] = PeriodicTaskScheduleForm
        return super().get_form(request, obj, **kwargs)

    @admin.action(description=BeatPeriodicTaskAdmin.enable_tasks.short_description, permissions=["change"])
    def enable_tasks(self, request: HttpRequest, queryset) -> None:
        super().enable_tasks(request, queryset)

    @admin.action(description=BeatPeriodicTaskAdmin.disable_tasks.short_description, permissions=["change"])
    def disable_tasks(self, request: HttpRequest, queryset) -> None:
        super().disable_tasks(request, queryset)

    @admin.action(description=BeatPeriodicTaskAdmin.toggle_tasks.short_description, permissions=["change"])
    def toggle_tasks(self, request: HttpRequest, queryset) -> None:
        super().toggle_tasks(request, queryset)

    @admin.action(description=BeatPeriodicTaskAdmin.run_tasks.short_description, permissions=["run"])
    def run_tasks(self, request: HttpRequest, queryset) -> None:
        super().run_tasks(request, queryset)


_replace(Group, GroupAdmin)
_replace(Site, SiteAdmin)
_replace(EmailAddress, EmailAddressAdmin)
_replace(SocialAccount, SocialAccountAdmin)
_replace(SocialApp, SocialAppAdmin)
_replace(SocialToken, SocialTokenAdmin)
_replace(Authenticator, AuthenticatorAdmin)
_replace(PeriodicTask, PeriodicTaskAdmin)
