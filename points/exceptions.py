"""Errors the ledger raises. Each carries a stable code and a message a member can read."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    default_message = _("The request could not be completed.")

    def __init__(self, message: str | None = None, **params: object) -> None:
        self.params = params
        self.message = str(message or self.default_message) % params if params else str(message or self.default_message)
        super().__init__(self.message)


class InvalidAmountError(DomainError):
    code = "invalid_amount"
    default_message = _("The number of points must be a whole number greater than zero.")


class AccountNotFoundError(DomainError):
    code = "account_not_found"
    default_message = _("This member has no points account.")


class InsufficientPointsError(DomainError):
    code = "insufficient_points"
    default_message = _("Not enough points: you have %(available)s, this needs %(required)s.")


class IdempotencyConflictError(DomainError):
    code = "idempotency_conflict"
    default_message = _("This request key was already used for a different operation.")


class ConfirmationInvalidError(DomainError):
    code = "confirmation_invalid"
    default_message = _(
        "This confirmation is out of date or not valid, so nothing was charged. Check the price and confirm again."
    )


class PriceChangedError(DomainError):
    code = "price_changed"
    default_message = _(
        "The price has changed: it is now %(price)s. Nothing was charged; check the new price and confirm again."
    )


class EntryNotFoundError(DomainError):
    code = "entry_not_found"
    default_message = _("The ledger entry to act on does not exist for this member.")


class NothingToRefundError(DomainError):
    code = "nothing_to_refund"
    default_message = _("This amount is more than what is left to give back: %(left)s points.")


class InvalidReasonError(DomainError):
    code = "invalid_reason"
    default_message = _("A reason is required for a manual adjustment.")


class SelfAdjustmentError(DomainError):
    code = "self_adjustment"
    default_message = _("Nobody may adjust their own points: ask another operator to do it.")


class InvalidExpiryError(DomainError):
    code = "invalid_expiry"
    default_message = _("These points would expire before they could be spent.")


class FutureAsOfError(DomainError):
    code = "future_as_of"
    default_message = _("The time may not be in the future: that would expire or release points early.")


class InvalidMessageError(DomainError):
    """A stored text's code or parameters are wrong: a programming error in the caller."""

    code = "invalid_message"
    default_message = "The stored message is not valid: %(reason)s"
