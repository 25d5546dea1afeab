"""Row locks of the accounts app. Taken after any points account lock, per the project lock order."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.models import PaymentPin


def member_for_update(*, user_id: int) -> None:
    """Lock the member's user row: it serialises changes to the member's address book.

    The address cap and the one-default rule read the whole book before writing; holding
    this lock makes two concurrent requests of one member take turns.
    """
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).get()


def pin_for_update(*, user_id: int) -> PaymentPin | None:
    """Lock and return the member's payment PIN row, or None if no PIN is set."""
    return PaymentPin.objects.select_for_update().filter(user_id=user_id).first()
