"""Identities the once-per-person rewards know: one keyed hash for every stored claim."""

from __future__ import annotations

from django.conf import settings

from points import rules
from points.enums import EarningSource
from points.models import IdentityClaim


def identity_hash(identity: str) -> str:
    """The keyed hash every once-per-person record stores for an identity (``email:…``, ``phone:…``):
    the sign-up bonus claims in the ledger, the invited e-mail of a referral in accounts. The rule
    is ``points.rules.identity_hash``; this supplies its key (the SECRET_KEY). One helper, one key."""
    return rules.identity_hash(identity, settings.SECRET_KEY)


def identity_hashes(identities: list[str]) -> set[str]:
    """The stored hashes of the usable ``identities`` (``points.rules.usable_identities``); empty if none is."""
    return {identity_hash(i) for i in rules.usable_identities(identities)}


def identity_known_elsewhere(*, user_id: int, identities: list[str]) -> bool:
    """Whether another account (or a deleted one) already holds one of ``identities`` as a
    person: it claimed the sign-up bonus with it. ``identities`` as for ``signup_bonus_grant``
    (``email:<mailbox>``, ``phone:<number>``, already normalised by accounts). Reads only."""
    hashes = identity_hashes(identities)
    if not hashes:
        return False
    claims = IdentityClaim.objects.filter(reward=EarningSource.SIGNUP, identity_hash__in=hashes)
    return claims.exclude(account__user_id=user_id).exists()
