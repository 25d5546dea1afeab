"""The dashboard's precomputed daily figures, written only by ``pointsmall.dashboard.services``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from pointsmall.dashboard.enums import Metric


class DailyMetric(models.Model):
    """One figure of one business day: ``value`` of ``metric`` for ``dimension`` ("" for the whole
    mall, a category or product id for the per-category and per-product figures). Absolute values:
    a roll-up that runs twice writes the same rows."""

    day = models.DateField(_("day"))
    metric = models.CharField(_("metric"), max_length=24, choices=Metric.choices)
    dimension = models.CharField(_("dimension"), max_length=24, blank=True, default="")
    value = models.BigIntegerField(_("value"), default=0)
    rolled_up_at = models.DateTimeField(_("rolled up"), auto_now=True)

    class Meta:
        verbose_name = _("daily figure")
        verbose_name_plural = _("daily figures")
        ordering = ["-day", "metric", "dimension"]
        default_permissions = ()
        permissions = [("view_dashboard", _("Can view the operators' dashboard"))]
        constraints = [
            models.UniqueConstraint(fields=["day", "metric", "dimension"], name="dashboard_dailymetric_unique"),
        ]
        indexes = [models.Index(fields=["metric", "day"], name="dashboard_metric_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}{':' + self.dimension if self.dimension else ''} = {self.value}"
