"""The figures the roll-up stores per business day (docs/decisions/0031)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Metric(models.TextChoices):
    SIGNUPS = "signups", _("Sign-ups")
    CHECKINS = "checkins", _("Check-ins")
    ORDERS = "orders", _("Orders")
    ACTIVE = "active", _("Active members")
    DRAWS = "draws", _("Lottery draws")
    ISSUED = "issued", _("Points issued")
    SPENT = "spent", _("Points spent")
    EXPIRED = "expired", _("Points expired")
    # Per category id (dimension): standing redemptions of the category's products.
    REDEMPTIONS = "redemptions", _("Redemptions")
    # Per product id (dimension): the funnel's last step.
    PRODUCT_REDEMPTIONS = "product_redemptions", _("Redemptions per product")


PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
