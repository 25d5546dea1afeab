"""Daily traffic, rolled up from the live counters (Redis, or the database fallback) by the
``analytics.rollup`` job. Rows hold absolute figures for their day: a roll-up that runs twice
writes the same numbers."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pointsmall.analytics.enums import PageType


class PageDaily(models.Model):
    """Views and unique visitors of one page type on one business day, and time on page."""

    day = models.DateField(_("day"))
    page_type = models.CharField(_("page type"), max_length=20, choices=PageType)
    views = models.PositiveBigIntegerField(_("page views"), default=0)
    visitors = models.PositiveIntegerField(_("unique visitors"), default=0)
    # Time on page from the beacon, after bot and outlier filtering: the number of samples and
    # their total in milliseconds (the average is total / samples).
    timed_views = models.PositiveIntegerField(_("timed views"), default=0)
    time_on_page_ms = models.PositiveBigIntegerField(_("time on page (ms, total)"), default=0)
    rolled_up_at = models.DateTimeField(_("rolled up"), auto_now=True)

    class Meta:
        verbose_name = _("daily page traffic")
        verbose_name_plural = _("daily page traffic")
        ordering = ["-day", "page_type"]
        constraints = [
            models.UniqueConstraint(fields=["day", "page_type"], name="analytics_pagedaily_day_type_unique"),
            models.CheckConstraint(condition=Q(visitors__lte=models.F("views")), name="analytics_pagedaily_uv_le_pv"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.page_type}"


class ProductDaily(models.Model):
    """One product's page views, unique visitors and redemption starts (its confirmation page
    opened) on one business day: the top of the product funnel."""

    day = models.DateField(_("day"))
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="+", verbose_name=_("product")
    )
    views = models.PositiveIntegerField(_("page views"), default=0)
    visitors = models.PositiveIntegerField(_("unique visitors"), default=0)
    redeem_starts = models.PositiveIntegerField(_("redemption starts"), default=0)
    rolled_up_at = models.DateTimeField(_("rolled up"), auto_now=True)

    class Meta:
        verbose_name = _("daily product traffic")
        verbose_name_plural = _("daily product traffic")
        ordering = ["-day", "product"]
        constraints = [
            models.UniqueConstraint(fields=["day", "product"], name="analytics_productdaily_day_product_unique"),
        ]
        indexes = [models.Index(fields=["product", "day"], name="analytics_productdaily_product")]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id}"


class RawVisit(models.Model):
    """One counted page view written to the database because Redis was not there (the SQLite demo
    has no REDIS_URL; in production Redis was unreachable). Append-only: the roll-up counts the
    rows (views) and their distinct visitors, and deletes them once their day has left the live
    window. ``product_id`` is set on product and redemption-confirmation pages."""

    day = models.DateField(_("day"))
    page_type = models.CharField(_("page type"), max_length=20, choices=PageType)
    # A keyed hash of the member id or the pm_vid cookie (pointsmall.analytics.visitors): never
    # an IP address, never the raw member id.
    visitor = models.CharField(_("visitor"), max_length=32)
    product_id = models.BigIntegerField(_("product"), null=True, blank=True)

    class Meta:
        verbose_name = _("raw page view")
        verbose_name_plural = _("raw page views")
        indexes = [models.Index(fields=["day", "page_type"], name="analytics_rawvisit_day_type")]

    def __str__(self) -> str:
        return f"{self.day} {self.page_type}"


class RawTiming(models.Model):
    """One accepted time-on-page sample from the beacon, written to the database when Redis was not
    there. Rolled up and deleted like ``RawVisit``."""

    day = models.DateField(_("day"))
    page_type = models.CharField(_("page type"), max_length=20, choices=PageType)
    milliseconds = models.PositiveIntegerField(_("visible time (ms)"))

    class Meta:
        verbose_name = _("raw time-on-page sample")
        verbose_name_plural = _("raw time-on-page samples")
        indexes = [models.Index(fields=["day", "page_type"], name="analytics_rawtiming_day_type")]

    def __str__(self) -> str:
        return f"{self.day} {self.page_type} {self.milliseconds}"
