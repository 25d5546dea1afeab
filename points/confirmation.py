"""Confirmed totals: what a member confirms is what they are charged (docs/decisions/0016).

A page that shows a price and then charges it (a redemption, later a prize draw or a
make-up check-in) signs the totals it showed into a token that travels with the form.
On submit, the view reads the token back (tampered, missing, or made for another member,
purpose, item or quantity: ``ConfirmationInvalidError``, nothing is written), and the service
compares the confirmed totals with the price it computes inside its own transaction
(different: ``PriceChangedError``, nothing is charged, the page shows the new price to confirm).

This module lives in the ledger app only because every feature app may import it; it
touches no table. A token says "this member saw these totals for this thing"; it is not a
secret (the totals are readable) and does not expire: if the price is still what the
member saw, charging it is right however long the page was open.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.utils.translation import gettext, ngettext

from points.exceptions import ConfirmationInvalidError, PriceChangedError

SALT_PREFIX = "pointsmall.confirmation"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Totals:
    """What an order costs in all: ``points`` (whole points) and ``cash`` (yuan, 2 decimals)."""

    points: int
    cash: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 0:
            raise ValueError(f"points must be a whole number >= 0, not {self.points!r}")
        if not isinstance(self.cash, Decimal) or not self.cash.is_finite() or self.cash < 0:
            raise ValueError(f"cash must be a Decimal >= 0, not {self.cash!r}")
        object.__setattr__(self, "cash", self.cash.quantize(CENT))


def _salt(purpose: str) -> str:
    # One salt per purpose: a redemption's token can never pass for a prize draw's.
    return f"{SALT_PREFIX}:{purpose}"


def confirmation_sign(*, purpose: str, user_id: int, subject: str, totals: Totals) -> str:
    """A tamper-proof token for the totals shown to ``user_id`` for ``subject`` (e.g. "product:7:quantity:2").

    Signed with the secret key (django.core.signing, so SECRET_KEY_FALLBACKS keep tokens of a
    rotated key valid), salted with ``purpose``. Pure: writes nothing, safe to call any time.
    """
    payload = {"u": user_id, "s": subject, "p": totals.points, "c": str(totals.cash)}
    return signing.dumps(payload, salt=_salt(purpose), compress=False)


def confirmation_read(*, token: str, purpose: str, user_id: int, subject: str) -> Totals:
    """The totals a token confirms, if it was signed for this purpose, member and subject.

    Raises ConfirmationInvalidError for an empty, altered or foreign token (another purpose,
    member or subject). Pure: reads and writes nothing.
    """
    if not token or len(token) > 1000:
        raise ConfirmationInvalidError()
    try:
        payload = signing.loads(token, salt=_salt(purpose))
    except signing.BadSignature:
        raise ConfirmationInvalidError() from None
    if not isinstance(payload, dict) or payload.get("u") != user_id or payload.get("s") != subject:
        raise ConfirmationInvalidError()
    try:
        return Totals(points=payload["p"], cash=Decimal(payload["c"]))
    except (KeyError, TypeError, ValueError, InvalidOperation):
        raise ConfirmationInvalidError() from None


def price_text(totals: Totals) -> str:
    """The totals as a member reads them: "300 points", "300 points + ¥12.50", "¥12.50"."""
    points = ngettext("%(points)s point", "%(points)s points", totals.points) % {"points": f"{totals.points:,}"}
    if not totals.cash:
        return points
    if not totals.points:
        return f"¥{totals.cash}"
    return gettext("%(points)s + ¥%(cash)s") % {"points": points, "cash": totals.cash}


def confirmation_check(*, confirmed: Totals, actual: Totals) -> None:
    """Refuse to charge anything but what was confirmed: raises PriceChangedError naming the new totals.

    Call it inside the charging transaction, after computing the price and before writing,
    so a refusal rolls everything back. A lower price is refused too: the member confirms
    every change. Pure: reads and writes nothing.
    """
    if confirmed != actual:
        raise PriceChangedError(price=price_text(actual))
