"""Row locks of the accounts app. Taken after any points account lock, per the project lock order."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.models import PaymentPin, Referral


def member_for_update(*, user_id: int) -> None:
    """Lock the member's user row: it serialises changes to the member's address book.

    The address cap and the one-default rule read the whole book before writing; holding
    this lock makes two concurrent requests of one member take turns.
    """
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).get()


def member_row_for_update(*, user_id: int):
    """Lock and return the member's user row (for a change of its phone or its verification)."""
    return get_user_model().objects.select_for_update().get(pk=user_id)


def pin_for_update(*, user_id: int) -> PaymentPin | None:
    """Lock and return the member's payment PIN row, or None if no PIN is set."""
    return PaymentPin.objects.select_for_update().filter(user_id=user_id).first()


def referral_for_update(*, invitee_id: int) -> Referral | None:
    """Lock and return the referral that brought this member in (with the member), or None.

    Take the inviter's points account first.
    """
    return _referrals_for_update().filter(invitee_id=invitee_id).first()


def referral_by_id_for_update(*, referral_id: int) -> Referral | None:
    """Lock and return a referral by its id (with the invited member), or None.

    Take the inviter's points account first.
    """
    return _referrals_for_update().filter(pk=referral_id).first()


def _referrals_for_update():
    # Only the referral row: the invited member's user row is read, not locked.
    return Referral.objects.select_for_update(of=("self",)).select_related("invitee")
