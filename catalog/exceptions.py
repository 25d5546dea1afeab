"""Refusals of the catalog, each with a code and a message a member can read."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from points.exceptions import DomainError


class ProductUnavailableError(DomainError):
    code = "product_unavailable"
    default_message = _("This item is not available for redemption.")


class SaleNotStartedError(DomainError):
    code = "sale_not_started"
    default_message = _("This item can be redeemed from %(start)s.")


class SaleEndedError(DomainError):
    code = "sale_ended"
    default_message = _("This item's redemption period has ended.")


class OutOfStockError(DomainError):
    code = "out_of_stock"
    default_message = _("Only %(left)s left.")


class SoldOutError(DomainError):
    code = "sold_out"
    default_message = _("Sold out.")


class InvalidQuantityError(DomainError):
    code = "invalid_quantity"
    default_message = _("You can redeem 1 to %(limit)s of this item per order.")


class DailyLimitReachedError(DomainError):
    code = "daily_limit"
    default_message = _("You can redeem this %(limit)s time(s) a day; you have %(left)s left today.")


class LifetimeLimitReachedError(DomainError):
    code = "lifetime_limit"
    default_message = _("You can redeem this %(limit)s time(s) in total; you have %(left)s left.")


class OrderCapExceededError(DomainError):
    code = "order_cap"
    default_message = _("One order can use at most %(cap)s points.")


class TierRequiredError(DomainError):
    code = "tier_required"
    default_message = _("This item is for %(tier)s members and above.")


class AddressRequiredError(DomainError):
    code = "address_required"
    default_message = _("Choose a shipping address for this item.")


class NoCodesLeftError(DomainError):
    code = "no_codes_left"
    default_message = _("This item is out of codes at the moment.")


class OrderNotFoundError(DomainError):
    code = "order_not_found"
    default_message = _("This order does not exist.")


class InvalidTransitionError(DomainError):
    code = "invalid_transition"
    default_message = _("This order can't be %(action)s in its current state (%(status)s).")


class ReasonRequiredError(DomainError):
    code = "reason_required"
    default_message = _("A reason is required.")


class RequestConflictError(DomainError):
    code = "request_conflict"
    default_message = _("This request was already used for a different redemption.")


class RefundNotFoundError(DomainError):
    code = "refund_not_found"
    default_message = _("This order has no cash refund.")


class RefundReferenceRequiredError(DomainError):
    code = "refund_reference_required"
    default_message = _("Enter the reference of the bank transfer or receipt that paid the money back.")


class RefundAlreadyRecordedError(DomainError):
    code = "refund_already_recorded"
    default_message = _("This cash refund was already made on %(time)s.")


class RefundInProgressError(DomainError):
    code = "refund_in_progress"
    default_message = _(
        "The payment gateway is refunding this. Record a refund by hand only after the gateway reports it failed."
    )


class RefundNotRetryableError(DomainError):
    code = "refund_not_retryable"
    default_message = _("Only a failed gateway refund can be tried again (this one is: %(status)s).")


class PrivilegeUnavailableError(ProductUnavailableError):
    code = "privilege_unavailable"
    default_message = _("This privilege can't be redeemed yet: what it would give is not available.")


class PrivilegeNotNeededError(DomainError):
    code = "privilege_not_needed"
    default_message = _("You already enjoy %(tier)s or higher: this trial would give you nothing.")
