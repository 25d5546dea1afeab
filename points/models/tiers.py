"""Tiers, the tier policy and granted tier trials."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from points.models.ledger import Account
from points.validators import (
    INT_MAX,
    MAX_MONTHS,
    MAX_MULTIPLIER,
    SMALL_INT_MAX,
    validate_operator_text,
)
from pointsmall.kernel.singleton import SingletonModel


class Tier(models.Model):
    """A membership level. Members qualify by points earned in the rolling window."""

    code = models.SlugField(_("tier code"), max_length=20, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=20, validators=[validate_operator_text])
    name_en = models.CharField(_("name (English)"), max_length=20, validators=[validate_operator_text])
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("0 is the entry tier."), validators=[MaxValueValidator(SMALL_INT_MAX)]
    )
    threshold = models.PositiveIntegerField(
        _("points to qualify"),
        help_text=_("Points earned in the window. Higher tiers need more; the entry tier needs 0."),
        validators=[MaxValueValidator(INT_MAX)],
    )
    price_percent = models.PositiveSmallIntegerField(
        _("redemption price, %"),
        default=100,
        help_text=_("Members of this tier pay this share of the points price (1–100)."),
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    earn_multiplier = models.DecimalField(
        _("earn multiplier"),
        max_digits=4,
        decimal_places=2,
        default=1,
        help_text=_("1 to 10: 1.5 earns half as much again."),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(MAX_MULTIPLIER)],
    )
    monthly_free_draws = models.PositiveSmallIntegerField(
        _("free prize draws a month"), default=0, validators=[MaxValueValidator(100)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_percent__gte=1, price_percent__lte=100),
                name="points_tier_price_percent_range",
                violation_error_message=_("The price share must be from 1 to 100."),
            ),
            models.CheckConstraint(
                condition=Q(earn_multiplier__gte=1),
                name="points_tier_multiplier_at_least_one",
                violation_error_message=_("The earn multiplier must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} / {self.name_zh}"

    def clean(self) -> None:
        """A higher tier is better in every way: it needs more points, pays no more and earns no less."""
        super().clean()
        if self.rank is None or self.threshold is None:
            return
        others = Tier.objects.exclude(pk=self.pk) if self.pk else Tier.objects.all()
        errors = ladder_errors(self, list(others))
        if errors:
            raise ValidationError(errors)


class TierPolicy(SingletonModel):
    """How tiers are kept. One row (pk=1)."""

    window_months = models.PositiveSmallIntegerField(
        _("qualifying window, months"), default=12, validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)]
    )
    max_downgrade_steps = models.PositiveSmallIntegerField(
        _("tiers down at most per month"), default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    # Downgrades happen monthly: a warning more than a month ahead would always be on.
    warn_days_before = models.PositiveSmallIntegerField(
        _("warn this many days before a downgrade"), default=14, validators=[MaxValueValidator(31)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policy")
        constraints = [
            models.CheckConstraint(condition=Q(window_months__gte=1), name="points_tierpolicy_window_positive"),
            models.CheckConstraint(condition=Q(max_downgrade_steps__gte=1), name="points_tierpolicy_steps_positive"),
        ]

    def __str__(self) -> str:
        return str(_("Tier policy"))


class TierGrant(models.Model):
    """A tier lent to a member for a while (a tier trial bought in the mall).

    The member enjoys ``tier`` from ``starts_at`` until ``ends_at`` (exclusive) whenever it is
    higher than the tier they earned; it never lowers anyone and it ends by itself (it is
    read, never swept). It does not touch ``Account.tier`` (the earned tier that the monthly
    recalculation keeps), so it neither counts towards nor delays an upgrade or a downgrade.
    Written only by ``points.services.tier_trial_grant`` (docs/decisions/0020).
    """

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="tier_grants", verbose_name=_("account")
    )
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("tier"))
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("granted"), default=timezone.now)

    class Meta:
        verbose_name = _("tier trial")
        verbose_name_plural = _("tier trials")
        indexes = [models.Index(fields=["account", "ends_at"], name="points_tiergrant_account_ends")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="points_tiergrant_window_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.tier_id} until {self.ends_at:%Y-%m-%d %H:%M}"


def ladder_errors(tier: Tier, others: list[Tier]) -> dict[str, str]:
    """Why ``tier`` doesn't fit between the ``others``: each rank up needs more points, pays no
    higher a share of the price and earns no less; the entry tier (lowest rank) needs 0 points."""
    errors: dict[str, str] = {}
    lower = max((t for t in others if t.rank < tier.rank), key=lambda t: t.rank, default=None)
    higher = min((t for t in others if t.rank > tier.rank), key=lambda t: t.rank, default=None)
    if lower is None and tier.threshold != 0:
        errors["threshold"] = _("The entry tier (the lowest rank) needs 0 points.")
    elif lower is not None and tier.threshold <= lower.threshold:
        errors["threshold"] = _("Must be more than %(points)s, the points %(tier)s needs: each rank up needs more.") % {
            "points": lower.threshold,
            "tier": lower,
        }
    elif higher is not None and tier.threshold >= higher.threshold:
        errors["threshold"] = _("Must be less than %(points)s, the points %(tier)s needs: each rank up needs more.") % {
            "points": higher.threshold,
            "tier": higher,
        }
    if tier.price_percent is not None:
        if lower is not None and tier.price_percent > lower.price_percent:
            errors["price_percent"] = _(
                "Can't be above %(percent)s, what %(tier)s pays: a higher rank pays no more."
            ) % {
                "percent": lower.price_percent,
                "tier": lower,
            }
        elif higher is not None and tier.price_percent < higher.price_percent:
            errors["price_percent"] = _(
                "Can't be below %(percent)s, what %(tier)s pays: a higher rank pays no more."
            ) % {
                "percent": higher.price_percent,
                "tier": higher,
            }
    if tier.earn_multiplier is not None:
        if lower is not None and tier.earn_multiplier < lower.earn_multiplier:
            errors["earn_multiplier"] = _(
                "Can't be below ×%(times)s, what %(tier)s earns: a higher rank earns no less."
            ) % {
                "times": lower.earn_multiplier,
                "tier": lower,
            }
        elif higher is not None and tier.earn_multiplier > higher.earn_multiplier:
            errors["earn_multiplier"] = _(
                "Can't be above ×%(times)s, what %(tier)s earns: a higher rank earns no less."
            ) % {
                "times": higher.earn_multiplier,
                "tier": higher,
            }
    return errors
