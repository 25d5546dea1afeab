"""The host shop's purchases: the purchase policy, rates, recorded purchases and their refunds."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points.enums import PurchaseRateScope
from points.models.ledger import Account, Entry
from points.validators import (
    MAX_DAYS,
    MAX_POINTS_PER_YUAN,
)
from pointsmall.kernel.singleton import SingletonModel


class PurchasePolicy(SingletonModel):
    """How the host shop's purchases earn points. One row (pk=1)."""

    points_per_yuan = models.DecimalField(
        _("points per yuan"),
        max_digits=6,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_POINTS_PER_YUAN)],
    )
    pending_days = models.PositiveSmallIntegerField(
        _("returns window, days"), default=7, validators=[MaxValueValidator(MAX_DAYS)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purchase policy")
        verbose_name_plural = _("purchase policy")
        constraints = [
            models.CheckConstraint(condition=Q(points_per_yuan__gte=0), name="points_purchasepolicy_rate_not_negative")
        ]

    def __str__(self) -> str:
        return str(_("Purchase policy"))


class PurchaseRate(models.Model):
    """A per-category or per-SKU earning rate, or an exclusion (SKU beats category)."""

    scope = models.CharField(_("applies to"), max_length=10, choices=PurchaseRateScope.choices)
    key = models.CharField(_("category or SKU"), max_length=64)
    points_per_yuan = models.DecimalField(
        _("points per yuan"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_POINTS_PER_YUAN)],
    )
    excluded = models.BooleanField(_("earns no points"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purchase rate")
        verbose_name_plural = _("purchase rates")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="points_purchaserate_unique_key"),
            models.CheckConstraint(
                condition=Q(excluded=True) | Q(points_per_yuan__isnull=False),
                name="points_purchaserate_rate_or_excluded",
                violation_error_message=_("Enter the points per yuan, or tick “earns no points”."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"

    def clean(self) -> None:
        super().clean()
        if self.excluded and self.points_per_yuan is not None:
            raise ValidationError({"points_per_yuan": _("An item that earns no points has no rate: leave it empty.")})
        if not self.excluded and self.points_per_yuan is None:
            raise ValidationError({"points_per_yuan": _("Enter the points per yuan, or tick “earns no points”.")})


class Purchase(models.Model):
    """A purchase the host shop reported, and the points it earned. Unique by the shop's order id."""

    external_id = models.CharField(_("shop order id"), max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("account"))
    amount = models.DecimalField(_("amount, yuan"), max_digits=12, decimal_places=2)
    # 64-bit: a million-yuan order at the highest rate and multipliers is more than 2³¹ points.
    base_points = models.PositiveBigIntegerField(_("points before multipliers"))
    points = models.PositiveBigIntegerField(_("points"))
    earn_entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("earn entry")
    )
    bonus_entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("first-purchase bonus")
    )
    refunded_amount = models.DecimalField(_("refunded, yuan"), max_digits=12, decimal_places=2, default=0)
    points_taken_back = models.PositiveBigIntegerField(_("points taken back"), default=0)
    occurred_at = models.DateTimeField(_("purchased"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="points_purchase_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                name="points_purchase_refund_range",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class PurchaseItem(models.Model):
    """One line of a reported purchase, kept so a refund can name the items it returns."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="items", verbose_name=_("purchase"))
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    category = models.CharField(_("category"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount, yuan"), max_digits=12, decimal_places=2)
    refunded_amount = models.DecimalField(_("refunded, yuan"), max_digits=12, decimal_places=2, default=0)
    # The item's exact points before multipliers (its amount × its rate), so a refund of this
    # item takes back its own share of the purchase's points, not the average.
    base_value = models.DecimalField(_("points before multipliers"), max_digits=20, decimal_places=4)

    class Meta:
        verbose_name = _("purchase item")
        verbose_name_plural = _("purchase items")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="points_purchaseitem_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                name="points_purchaseitem_refund_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase} {self.sku or self.category or '-'} ¥{self.amount}"


class PurchaseRefund(models.Model):
    """One refund the shop reported for a purchase; its key makes a retried report one refund."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("purchase"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    amount = models.DecimalField(_("amount, yuan"), max_digits=12, decimal_places=2)
    points_taken_back = models.PositiveBigIntegerField(_("points taken back"))
    # The items it returns, [{"item": PurchaseItem pk, "amount": "12.50"}, …]; empty for a refund by amount.
    items = models.JSONField(_("items"), default=list, blank=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase refund")
        verbose_name_plural = _("purchase refunds")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="points_purchaserefund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.purchase} −¥{self.amount}"
