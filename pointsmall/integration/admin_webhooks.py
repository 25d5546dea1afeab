"""Admin of the webhook endpoints and the webhook outbox.

Endpoints are edited here (URL checked against SSRF rules on save, events as checkboxes).
Deliveries are written by the services only: staff look, and may send failed ones again
("Send again", permission ``integration.resend_webhookdelivery``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pointsmall.integration import webhooks
from pointsmall.integration.enums import WebhookEventType
from pointsmall.integration.models import WebhookDelivery, WebhookEndpoint
from pointsmall.kernel.admin import ReadOnlyAdmin
from pointsmall.kernel.errors import DomainError, validation_error


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events this endpoint receives about the client's members."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("client", "url", "events", "enabled")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            # A name that does not resolve yet may be saved; it is checked again before every send.
            webhooks.webhook_url_check(url, must_resolve=False)
        except DomainError as error:
            raise validation_error(error) from None
        return url

    def clean_events(self) -> list[str]:
        # Stored in the order of the event list, whatever order the boxes came in.
        chosen = set(self.cleaned_data["events"])
        return [value for value in WebhookEventType.values if value in chosen]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "client", "event_list", "enabled", "created_at")
    list_filter = ("enabled", "client")
    search_fields = ("url", "client__name", "client__key_id")
    list_select_related = ("client",)

    @admin.display(description=_("events"))
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        labels = dict(WebhookEventType.choices)
        return ", ".join(str(labels.get(value, value)) for value in endpoint.events or [])


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    # Narrow enough for a 1280 px screen; the next attempt and delivery times are on the row's page.
    list_display = ("event_type", "endpoint", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type", "endpoint__client", "created_at")
    search_fields = ("event_id", "endpoint__url", "last_error")
    list_select_related = ("endpoint",)
    ordering = ("-created_at", "-pk")
    date_hierarchy = "created_at"
    actions = ("send_again",)
    fields = (
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_response",
        "last_error",
        "created_at",
        "sent_at",
        "payload",
    )

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("integration.resend_webhookdelivery")

    @admin.action(
        description=_("Send again (failed deliveries only; never one already delivered)"), permissions=["resend"]
    )
    def send_again(self, request, queryset) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        queued = webhooks.webhooks_resend(delivery_ids=selected)
        if queued:
            self.message_user(
                request,
                ngettext(
                    "%(n)s webhook delivery queued to be sent again now.",
                    "%(n)s webhook deliveries queued to be sent again now.",
                    queued,
                )
                % {"n": queued},
                messages.SUCCESS,
            )
        if len(selected) > queued:
            left = len(selected) - queued
            self.message_user(
                request,
                ngettext(
                    "%(n)s selected delivery was left alone: only failed ones are sent again.",
                    "%(n)s selected deliveries were left alone: only failed ones are sent again.",
                    left,
                )
                % {"n": left},
                messages.WARNING,
            )
