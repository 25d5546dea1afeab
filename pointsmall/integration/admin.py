"""Admin of the host integration: clients and their secrets (this module), webhooks (admin_webhooks).

An integration client can credit points to any member it names, so creating one or rotating its
secret is for superusers, or staff given the integration permissions explicitly (no staff group
has them by default). The secret is shown once, on the page that answers the save or the
rotation, and never again: only its encrypted form is stored (pointsmall.integration.vault).
"""

from __future__ import annotations

import secrets as tokens
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from pointsmall.integration import (
    admin_webhooks,  # noqa: F401  (registers the webhook admin)
    services,
)
from pointsmall.integration.models import Client, ClientSecret, HostMember
from pointsmall.kernel.admin import ReadOnlyAdmin, ReadOnlyInline
from pointsmall.kernel.errors import DomainError, form_error, validation_error

MAX_OVERLAP_HOURS = 168
SUBMISSIONS_KEY = "integration_submissions"


def _submission_field() -> forms.CharField:
    """A one-time token in the create and rotate forms: the page that shows a secret answers a
    POST, so reloading it would submit again (a second client, a second rotation that stops the
    secret just copied). A token already used is refused instead."""
    return forms.CharField(widget=forms.HiddenInput, initial=lambda: tokens.token_hex(16), required=False)


def _submission_used(request: HttpRequest) -> bool:
    token = request.POST.get("submission", "")
    return bool(token) and token in request.session.get(SUBMISSIONS_KEY, [])


def _submission_spend(request: HttpRequest) -> None:
    token = request.POST.get("submission", "")
    if token:
        request.session[SUBMISSIONS_KEY] = [*request.session.get(SUBMISSIONS_KEY, [])[-19:], token]


class ClientForm(forms.ModelForm):
    submission = _submission_field()

    class Meta:
        model = Client
        fields = ("name", "allowed_ips", "enabled")
        help_texts = {
            "allowed_ips": _(
                "One IP address or network per line (203.0.113.7, 203.0.113.0/24, 2001:db8::/32); "
                "leave empty to accept calls from any address."
            ),
        }

    def clean_allowed_ips(self) -> str:
        value = self.cleaned_data.get("allowed_ips", "")
        try:
            services.allowed_networks(value)
        except DomainError as error:
            raise validation_error(error) from None
        return value


class RotateSecretForm(forms.Form):
    submission = _submission_field()
    overlap_hours = forms.IntegerField(
        label=_("Old secret keeps working for (hours)"),
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        help_text=_("0 stops the current secret at once; up to 168 hours (a week) gives the host time to switch."),
    )


class ClientSecretInline(ReadOnlyInline):
    model = ClientSecret
    fields = ("created_at", "retires_at", "state")
    readonly_fields = fields
    ordering = ("-created_at", "-pk")
    verbose_name_plural = _("secrets (never shown again)")

    @admin.display(description=_("state"))
    def state(self, secret: ClientSecret) -> str:
        if secret.retires_at is None:
            return str(_("in use"))
        if secret.retires_at > timezone.now():
            return str(_("retiring"))
        return str(_("stopped"))


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = ("name", "key_id", "enabled", "created_at")
    list_filter = ("enabled",)
    search_fields = ("name", "key_id")
    readonly_fields = ("key_id", "created_at")
    inlines = (ClientSecretInline,)
    change_form_template = "admin/integration/client/change_form.html"

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        fields = ("name", "allowed_ips", "enabled")
        return (*fields, "submission") if obj is None else ("key_id", *fields, "created_at")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        if request.method == "POST" and _submission_used(request):
            messages.warning(request, _("This form was already sent: the client exists and its secret was shown once."))
            return redirect(reverse("admin:integration_client_changelist"))
        return super().add_view(request, form_url, extra_context)

    def get_inlines(self, request: HttpRequest, obj: Model | None) -> tuple:
        return self.inlines if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Its members, purchases and deliveries point at it: switch a client off instead.
        return False

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integration.change_client")

    def save_model(self, request: HttpRequest, obj: Client, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The service makes the key id and the secret; the secret lives only for this response.
        client, secret = services.client_create(name=obj.name, allowed_ips=obj.allowed_ips, enabled=obj.enabled)
        obj.pk, obj.key_id, obj.created_at = client.pk, client.key_id, client.created_at
        obj._state.adding = False
        request._integration_new_secret = secret  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: Client, post_url_continue: str | None = None) -> HttpResponse:
        secret = getattr(request, "_integration_new_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        _submission_spend(request)
        return self._secret_page(request, obj, secret, title=_("Client created: copy its secret now"))

    def _secret_page(self, request: HttpRequest, client: Client, secret: str, *, title: Any) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "client": client,
            "secret": secret,
            "change_url": reverse("admin:integration_client_change", args=[client.pk]),
        }
        response = TemplateResponse(request, "admin/integration/client/secret.html", context)
        # Neither the browser nor a proxy may keep the page that holds the secret.
        add_never_cache_headers(response)
        response["Cache-Control"] += ", no-store"
        return response

    def get_urls(self):
        return [
            path(
                "<int:client_id>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="integration_client_rotate",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        extra_context = dict(extra_context or {})
        if self.has_rotate_permission(request):
            extra_context["rotate_url"] = reverse("admin:integration_client_rotate", args=[object_id])
        return super().change_view(request, object_id, form_url, extra_context)

    def rotate_view(self, request: HttpRequest, client_id: int) -> HttpResponse:
        if not self.has_rotate_permission(request):
            raise PermissionDenied
        client = get_object_or_404(Client, pk=client_id)
        form = RotateSecretForm(
            request.POST or None, initial={"overlap_hours": min(settings.INTEGRATION_SECRET_OVERLAP_HOURS, 168)}
        )
        if request.method == "POST" and _submission_used(request):
            messages.warning(request, _("This form was already sent: the secret was rotated once and shown once."))
            return redirect(reverse("admin:integration_client_change", args=[client.pk]))
        if request.method == "POST" and form.is_valid():
            try:
                secret = services.client_secret_rotate(
                    client_id=client.pk, overlap_hours=form.cleaned_data["overlap_hours"]
                )
            except DomainError as error:
                form_error(form, error)
            else:
                self.log_change(request, client, str(_("Rotated the secret")))
                _submission_spend(request)
                return self._secret_page(request, client, secret, title=_("New secret: copy it now"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Rotate the secret of %(client)s") % {"client": client.name},
            "client": client,
            "form": form,
        }
        return TemplateResponse(request, "admin/integration/client/rotate.html", context)


@admin.register(HostMember)
class HostMemberAdmin(ReadOnlyAdmin):
    list_display = ("client", "external_id", "user", "created_at")
    list_filter = ("client",)
    search_fields = ("external_id", "user__email", "user__display_name")
    list_select_related = ("client", "user")
    fields = ("client", "external_id", "user", "created_at")
    readonly_fields = fields
    raw_id_fields = ("user",)
