"""The sign-up bonus, paid when a member confirms an e-mail address, and its inbox message."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from accounts import selectors
from accounts.enums import NotificationKind
from accounts.services.notifications import notification_send
from points import services as points_services


@transaction.atomic
def signup_bonus_claim(*, user_id: int, email: str) -> points_services.AwardResult:
    """A member confirmed ``email``: the sign-up bonus if this person never had it, and an
    inbox message saying what happened (in the member's language).

    The person is the confirmed e-mail, as typed and as its normalised mailbox (case, +tag,
    the operators' provider rules: ``alice+2@`` is ``alice@``), and the member's phone once
    verified: one of them that claimed the bonus before, on any account, gets a refusal. A
    later confirmation (a second address) adds that address to the bonus already paid, so it
    cannot earn one elsewhere. Locks: the member's points account. Safe to call twice: one
    bonus, one message.
    """
    identities = selectors.reward_identities(user_id=user_id, email=email)
    with translation.override(selectors.member_language(user_id=user_id)):
        result = points_services.signup_bonus_grant(user_id=user_id, identities=identities)
        if result.replayed:
            points_services.claim_identities(user_id=user_id, identities=identities)
            return result
        if result.granted:
            title = ngettext(
                "Welcome! %(points)s point was added", "Welcome! %(points)s points were added", result.granted
            ) % {"points": result.granted}
            body = gettext(
                "Thank you for confirming your e-mail address. Spend your points in the mall, "
                "or read the points rules for more ways to earn."
            )
            link, key = reverse("my_points"), "signup-bonus:granted"
        elif result.message:
            title = gettext("About your sign-up bonus")
            body, link, key = result.message, reverse("rules"), "signup-bonus:refused"
        else:
            return result
    notification_send(user_id=user_id, kind=NotificationKind.POINTS, title=title, body=body, link=link, dedupe_key=key)
    return result
