"""How points are earned: earning rules, campaigns and the once-per-person identity claims."""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points import rules
from points.enums import EarningSource
from points.models.ledger import CALLER_PRICED_SOURCES, Account, JSONListOf
from points.models.tiers import Tier
from points.validators import (
    INT_MAX,
    MAX_MULTIPLIER,
    validate_earning_sources,
    validate_operator_text,
)


class EarningRule(models.Model):
    """Points for one earning source, with per-member caps. One row per source."""

    source = models.CharField(_("source"), max_length=24, choices=EarningSource.choices, unique=True)
    points = models.PositiveIntegerField(
        _("points"),
        default=0,
        help_text=_("For purchases: unused (see rates)."),
        validators=[MaxValueValidator(INT_MAX)],
    )
    daily_cap = models.PositiveIntegerField(
        _("max points per member a day"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    weekly_cap = models.PositiveIntegerField(
        _("max points per member a week"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    monthly_cap = models.PositiveIntegerField(
        _("max points per member a month"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    apply_multipliers = models.BooleanField(_("tier and campaign multipliers apply"), default=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["source"]

    def __str__(self) -> str:
        return str(EarningSource(self.source).label)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.active and self.points == 0 and self.source and self.source not in CALLER_PRICED_SOURCES:
            errors["points"] = _("Enter at least 1 point, or switch the rule off.")
        # A longer period's cap below a shorter one's would make the shorter cap a lie.
        caps = [("daily_cap", self.daily_cap), ("weekly_cap", self.weekly_cap), ("monthly_cap", self.monthly_cap)]
        given = [(name, cap) for name, cap in caps if cap is not None]
        for (_shorter, low), (longer, high) in itertools.pairwise(given):
            if high < low:
                errors[longer] = _("A longer period's limit can't be below a shorter period's (%(low)s).") % {
                    "low": low
                }
        if errors:
            raise ValidationError(errors)


class Campaign(models.Model):
    """A time-boxed multiplier (积分翻倍) for some or all sources and tiers, with an optional budget."""

    name = models.CharField(
        _("name"), max_length=80, validators=[validate_operator_text], help_text=_("As members read it in Chinese.")
    )
    name_en = models.CharField(
        _("name (English)"),
        max_length=80,
        blank=True,
        validators=[validate_operator_text],
        help_text=_("As members read it in English; empty: the name above."),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=4,
        decimal_places=2,
        default=2,
        help_text=_("More than 1, at most 10: 2 doubles the points."),
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(MAX_MULTIPLIER)],
    )
    # A list of EarningSource codes; the admin offers them as checkboxes (docs/decisions/0014).
    sources = models.JSONField(
        _("sources"),
        default=list,
        blank=True,
        help_text=_("Empty: every source."),
        validators=[validate_earning_sources],
    )
    tiers = models.ManyToManyField(Tier, blank=True, verbose_name=_("tiers"), help_text=_("Empty: every tier."))
    budget = models.PositiveIntegerField(
        _("extra points budget"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1), MaxValueValidator(INT_MAX)],
    )
    budget_used = models.PositiveIntegerField(_("extra points given"), default=0)
    active = models.BooleanField(_("switched on"), default=True)
    history = HistoricalRecords(m2m_fields=[tiers])

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="points_campaign_window_valid",
                violation_error_message=_("The campaign must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(multiplier__gt=1),
                name="points_campaign_multiplier_above_one",
                violation_error_message=_("The multiplier must be more than 1."),
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget_used__lte=F("budget")),
                name="points_campaign_within_budget",
                violation_error_message=_("The budget can't be less than the extra points already given."),
            ),
            models.CheckConstraint(
                condition=JSONListOf("sources", allowed=list(EarningSource.values)),
                name="points_campaign_sources_known",
                violation_error_message=_("Choose the sources from the list."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The constraints' checks skip fields the form leaves out (budget_used is read-only there).
        super().clean()
        errors: dict[str, str] = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The campaign must end after it starts.")
        if self.budget is not None and self.budget < self.budget_used:
            errors["budget"] = _("The budget can't be less than the %(used)s extra points already given.") % {
                "used": self.budget_used
            }
        if errors:
            raise ValidationError(errors)

    @property
    def source_codes(self) -> frozenset[str] | None:
        """The sources this campaign applies to, None for every source; never fails on a stored value."""
        return rules.campaign_sources(self.sources)


class IdentityClaim(models.Model):
    """A once-per-person reward claimed by an identity (a hashed e-mail or phone), surviving account deletion."""

    reward = models.CharField(_("reward"), max_length=24, choices=EarningSource.choices)
    identity_hash = models.CharField(_("identity (hashed)"), max_length=64)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("claimed by")
    )
    created_at = models.DateTimeField(_("claimed"), default=timezone.now)

    class Meta:
        verbose_name = _("identity claim")
        verbose_name_plural = _("identity claims")
        constraints = [
            models.UniqueConstraint(fields=["reward", "identity_hash"], name="points_identityclaim_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reward}:{self.identity_hash[:8]}"
