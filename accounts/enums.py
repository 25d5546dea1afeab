"""Choices other apps pass into accounts.services."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    POINTS = "points", _("Points")
    ORDER = "order", _("Orders")
    ACCOUNT = "account", _("Account and security")
    ANNOUNCEMENT = "announcement", _("Announcements")
