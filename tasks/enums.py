"""Choices of the tasks app that other code passes in or reads (tasks.enums.TaskEvent)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskEvent(models.TextChoices):
    """Something a member did that can complete a task ("by event" tasks).

    Reported by the app where it happens, through that app's own signal (accounts.signals,
    catalog.signals, tasks.signals); the tasks app listens (tasks/receivers.py).
    """

    PROFILE_COMPLETED = "profile_completed", _("Complete the profile")
    PIN_SET = "pin_set", _("Set a payment PIN")
    ADDRESS_ADDED = "address_added", _("Add a delivery address")
    FIRST_REDEMPTION = "first_redemption", _("First redemption")
    REVIEW_POSTED = "review_posted", _("Write a review")
    FRIEND_SIGNED_UP = "friend_signed_up", _("Invite a friend who signs up")
    CHECKIN_STREAK = "checkin_streak", _("Check in N days in a row")
