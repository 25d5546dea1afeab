"""The kinds of page traffic is counted by."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PageType(models.TextChoices):
    HOME = "home", _("Home")
    CATALOG = "catalog", _("Catalogue")
    PRODUCT = "product", _("Product")
    REDEEM = "redeem", _("Redemption confirmation")
    CHECKIN = "checkin", _("Check-in")
    TASKS = "tasks", _("Tasks")
    LEADERBOARD = "leaderboard", _("Leaderboard")
    LOTTERY = "lottery", _("Lottery")
    ORDERS = "orders", _("Orders")
    POINTS = "points", _("Points")
    ACCOUNT = "account", _("Account")
    INBOX = "inbox", _("Inbox")
    OTHER = "other", _("Other")
