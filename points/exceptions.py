"""Errors the ledger raises. Each carries a stable code and a message a member can read.

The base class is ``pointsmall.kernel.errors.DomainError`` (every app's errors share it)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError


class InvalidAmountError(DomainError):
    code = "invalid_amount"
    default_message = _("The number of points must be a whole number greater than zero.")


class AccountNotFoundError(DomainError):
    code = "account_not_found"
    http_status = 404
    default_message = _("This member has no points account.")


class AccountFrozenError(DomainError):
    """The member's account is frozen by an operator (docs/decisions/0055): no earning, no spending."""

    code = "account_frozen"
    http_status = 403
    default_message = _(
        "Your points account is frozen: you cannot earn or spend points for now. Please contact support."
    )


class AccountAlreadyFrozenError(DomainError):
    code = "account_already_frozen"
    http_status = 409
    default_message = _("This points account is already frozen.")


class AccountNotFrozenError(DomainError):
    code = "account_not_frozen"
    http_status = 409
    default_message = _("This points account is not frozen.")


class FreezeReasonRequiredError(DomainError):
    code = "freeze_reason_required"
    default_message = _("A reason is required to freeze or unfreeze an account (at most %(max)s characters).")


class SelfFreezeError(DomainError):
    code = "self_freeze"
    http_status = 403
    default_message = _("Nobody may freeze or unfreeze their own account: ask another operator to do it.")


class InsufficientPointsError(DomainError):
    code = "insufficient_points"
    default_message = _("Not enough points: you have %(available)s, this needs %(required)s.")


class IdempotencyConflictError(DomainError):
    code = "idempotency_conflict"
    http_status = 409
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
    http_status = 404
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
    http_status = 500
    default_message = _("The stored message is not valid: %(reason)s")


class UnknownSourceError(DomainError):
    code = "unknown_source"
    default_message = _("This is not an earning source the mall knows.")


class InvalidPurchaseError(DomainError):
    code = "invalid_purchase"
    default_message = _("The purchase is not valid: %(reason)s")


# The precise refusals of a purchase or refund. Subclasses of InvalidPurchaseError so a caller
# that handles "any bad purchase" still does; each has its own stable code for the host API.


class ItemsDoNotAddUpError(InvalidPurchaseError):
    code = "items_do_not_add_up"
    default_message = _("The items add up to %(items)s yuan, not to the purchase's amount of %(amount)s yuan.")


class AlreadyFullyRefundedError(InvalidPurchaseError):
    code = "already_fully_refunded"
    default_message = _("This purchase is already refunded in full: there is nothing left to refund.")


class RefundExceedsPurchaseError(InvalidPurchaseError):
    code = "refund_exceeds_purchase"
    default_message = _("The refund must be more than 0 and at most what is left of the purchase: %(left)s yuan.")


class UnknownItemError(InvalidPurchaseError):
    code = "unknown_item"
    default_message = _("The purchase has no item with the SKU %(sku)s.")


class RefundExceedsItemError(InvalidPurchaseError):
    code = "refund_exceeds_item"
    default_message = _("The refund of %(sku)s must be at most what is left of it: %(left)s yuan.")


class PurchaseNotFoundError(DomainError):
    code = "purchase_not_found"
    http_status = 404
    default_message = _("No purchase with this shop order id.")


class UnknownTierError(DomainError):
    code = "unknown_tier"
    default_message = _("There is no tier “%(tier)s”.")


class InvalidTierTrialError(DomainError):
    code = "invalid_tier_trial"
    default_message = _("A tier trial needs a tier above the entry tier and 1 to %(max)s days.")


class HoldNotFoundError(DomainError):
    code = "hold_not_found"
    http_status = 404
    default_message = _("There is no such hold of points.")


class HoldNotActiveError(DomainError):
    code = "hold_not_active"
    http_status = 409
    default_message = _("This hold of points is %(status)s: it can no longer be captured or released.")


class InvalidHoldExpiryError(DomainError):
    code = "invalid_hold_expiry"
    default_message = _("A hold of points must end in the future.")
