"""The sign-up bonus, paid when a member confirms an e-mail address, and its inbox message."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.urls import reverse

from accounts import notices, selectors
from accounts.enums import NotificationKind
from accounts.services.notifications import notification_send
from points import services as points_services

# Checks "this member gets no sign-up bonus" that other parts of the project register (the host
# integration: a member a host brought in is rewarded by the host's purchases; decision 0035).
_bonus_exemptions: list[Callable[[int], bool]] = []


def signup_bonus_exemption_register(check: Callable[[int], bool]) -> None:
    """Register ``check(user_id) -> bool``: True means the member never gets the sign-up bonus."""
    if check not in _bonus_exemptions:
        _bonus_exemptions.append(check)


def signup_bonus_exempt(*, user_id: int) -> bool:
    return any(check(user_id) for check in _bonus_exemptions)


@transaction.atomic
def signup_bonus_claim(*, user_id: int, email: str) -> points_services.AwardResult:
    """A member confirmed ``email``: the sign-up bonus if this person never had it, and an
    inbox message saying what happened (rendered in the member's language when read).

    The person is the confirmed e-mail, as typed and as its normalised mailbox (case, +tag,
    the operators' provider rules: ``alice+2@`` is ``alice@``), and the member's phone once
    verified: one of them that claimed the bonus before, on any account, gets a refusal. A
    later confirmation (a second address) adds that address to the bonus already paid, so it
    cannot earn one elsewhere. A member a registered exemption names (signup_bonus_exempt)
    gets nothing and no message. Locks: the member's points account. Safe to call twice: one
    bonus, one message.
    """
    if signup_bonus_exempt(user_id=user_id):
        return points_services.AwardResult(granted=0, requested=0, receipt=None)
    identities = selectors.reward_identities(user_id=user_id, email=email)
    result = points_services.signup_bonus_grant(user_id=user_id, identities=identities)
    if result.replayed:
        points_services.claim_identities(user_id=user_id, identities=identities)
        return result
    if result.granted:
        notice = notices.signup_bonus(points=result.granted)
        link, key = reverse("my_points"), "signup-bonus:granted"
    elif result.reason:
        notice = notices.signup_bonus_refused(reason=result.reason)
        link, key = reverse("rules"), "signup-bonus:refused"
    else:
        return result
    notification_send(user_id=user_id, kind=NotificationKind.POINTS, **notice.message, link=link, dedupe_key=key)
    return result
