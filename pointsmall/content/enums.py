"""Choices other code passes in: feedback categories and the states operators move feedback through."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class FeedbackCategory(models.TextChoices):
    BUG = "bug", _("Something doesn't work")
    REDEMPTION = "redemption", _("Products and redemption")
    POINTS = "points", pgettext_lazy("feedback category", "Points")
    SUGGESTION = "suggestion", _("Suggestion")
    OTHER = "other", pgettext_lazy("feedback category", "Other")


class FeedbackStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("feedback status", "New")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", pgettext_lazy("feedback status", "Closed")
