"""Operator-edited one-row tables of the ledger: the expiry policy, the rules page text and the value of a point."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points.enums import ExpiryMode, ExpiryRounding
from points.validators import (
    MAX_DAYS,
    MAX_MONTHS,
    MAX_YUAN_PER_POINT,
)
from pointsmall.kernel.singleton import SingletonModel


class ExpiryPolicy(SingletonModel):
    """When earned points expire. One row (pk=1), edited by operators in admin."""

    mode = models.CharField(_("expiry"), max_length=12, choices=ExpiryMode.choices, default=ExpiryMode.ROLLING_MONTHS)
    months = models.PositiveSmallIntegerField(
        _("months (rolling)"), default=12, validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)]
    )
    rounding = models.CharField(
        _("round up to"), max_length=8, choices=ExpiryRounding.choices, default=ExpiryRounding.END_OF_DAY
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("remind this many days before"), default=30, validators=[MaxValueValidator(MAX_DAYS)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("expiry policy")
        verbose_name_plural = _("expiry policy")
        constraints = [models.CheckConstraint(condition=Q(months__gte=1), name="points_policy_months_positive")]

    def __str__(self) -> str:
        return str(_("Expiry policy"))


class RulesPage(SingletonModel):
    """The operator-written part of the public rules page (积分规则说明). One row (pk=1)."""

    title_zh = models.CharField(_("title (Chinese)"), max_length=100, default="积分规则说明")
    title_en = models.CharField(_("title (English)"), max_length=100, default="Points rules")
    body_zh = models.TextField(_("text (Chinese)"), blank=True, max_length=20_000)
    body_en = models.TextField(_("text (English)"), blank=True, max_length=20_000)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rules page")
        verbose_name_plural = _("rules page")

    def __str__(self) -> str:
        return self.title_en


POINT_VALUE_YUAN = Decimal("0.01")  # 100 points = 1 yuan


class PointValuePolicy(SingletonModel):
    """What one point is worth in yuan: the one value the lottery's top-prize cap and report and
    the operators' dashboard (points liability) use. One row (pk=1), edited by operators in admin."""

    yuan_per_point = models.DecimalField(
        _("value of one point, yuan"),
        max_digits=8,
        decimal_places=4,
        default=POINT_VALUE_YUAN,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(MAX_YUAN_PER_POINT)],
        help_text=_("0.01 = 100 points are worth 1 yuan; at most 1. Values points prizes and the points liability."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("point value")
        verbose_name_plural = _("point value")
        constraints = [
            models.CheckConstraint(condition=Q(yuan_per_point__gt=0), name="points_point_value_positive"),
            models.CheckConstraint(
                condition=Q(yuan_per_point__lte=MAX_YUAN_PER_POINT), name="points_point_value_at_most_max"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Point value"))
