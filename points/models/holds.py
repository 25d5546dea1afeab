"""Holds: points reserved for a host order (积分抵扣 at the host's checkout) until it is paid.

A hold is a claim on a quantity of the member's available points, not on particular lots:
capture spends them FIFO by expiry at that moment, like any spend (docs/decisions/0033).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from points.enums import HoldStatus
from points.models.ledger import Account, Entry


class Hold(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds", verbose_name=_("account"))
    # Unique: the caller's idempotency key (the host's order id, namespaced by the caller).
    key = models.CharField(_("key"), max_length=160, unique=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    amount = models.PositiveBigIntegerField(_("points"))
    status = models.CharField(_("status"), max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    created_at = models.DateTimeField(_("placed"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    spend_entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("spend entry")
    )

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="points_hold_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status=HoldStatus.CAPTURED) | Q(spend_entry__isnull=False),
                name="points_hold_captured_has_spend",
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status=HoldStatus.ACTIVE), name="points_hold_active_expiry")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.amount})"
