"""Host integration: API clients and their secrets, members the host knows, request
idempotency, and the webhook outbox (docs/integration.md, docs/decisions/0033)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from pointsmall.integration.enums import WebhookDeliveryStatus, WebhookEventType


class Client(models.Model):
    """A host system allowed to call the API, send members in and receive webhooks."""

    name = models.CharField(_("name"), max_length=80)
    key_id = models.CharField(_("key id"), max_length=40, unique=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    # One IPv4/IPv6 address or CIDR network per line; empty = any address.
    allowed_ips = models.TextField(_("allowed IP addresses"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("integration client")
        verbose_name_plural = _("integration clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"


class ClientSecret(models.Model):
    """A signing secret, stored encrypted (it must be read back to check an HMAC). A rotated-out
    secret keeps working until ``retires_at`` so the host can switch without downtime."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="secrets", verbose_name=_("client"))
    encrypted = models.TextField(_("secret, encrypted"), editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    retires_at = models.DateTimeField(_("stops working"), null=True, blank=True)

    class Meta:
        verbose_name = _("client secret")
        verbose_name_plural = _("client secrets")

    def __str__(self) -> str:
        return f"{self.client.key_id} #{self.pk}"


class UsedNonce(models.Model):
    """A nonce a signed request or login link has used: the unique constraint refuses a replay.
    Rows older than the signature window are purged (they can no longer pass the age check)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "nonce"], name="integration_nonce_once")]

    def __str__(self) -> str:
        return self.nonce


class HostMember(models.Model):
    """The host's id for a member. External ids are per client: one client cannot read or act
    on members another client brought in."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="members", verbose_name=_("client"))
    external_id = models.CharField(_("external id"), max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="host_links", verbose_name=_("member")
    )
    created_at = models.DateTimeField(_("linked"), default=timezone.now)

    class Meta:
        verbose_name = _("host member")
        verbose_name_plural = _("host members")
        constraints = [
            models.UniqueConstraint(fields=["client", "external_id"], name="integration_member_external_id"),
            models.UniqueConstraint(fields=["client", "user"], name="integration_member_user_once"),
        ]

    def __str__(self) -> str:
        return f"{self.client.key_id}:{self.external_id}"


class IdempotencyRecord(models.Model):
    """The first response to an idempotent API request: the same key and body get it again,
    the same key with another body gets 409. ``scope`` is the operation ("purchase", "refund",
    "hold"); ``key`` the host's id for it."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=20)
    key = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "scope", "key"], name="integration_idempotency_once")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class WebhookEndpoint(models.Model):
    """Where a client wants to hear about events, and which events."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="endpoints", verbose_name=_("client"))
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """The outbox: one event for one endpoint, written in the transaction of the event itself.
    ``event_id`` is in the body so a receiver can drop a repeat."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4)
    event_type = models.CharField(_("event"), max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_response = models.TextField(_("last response"), blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(pgettext_lazy("webhook delivery", "delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        permissions = [("resend_webhookdelivery", _("Can send failed webhook deliveries again"))]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="integration_delivery_once")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=[WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING]),
                name="integration_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint}"
