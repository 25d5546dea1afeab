"""Refusals of the catalog, each with a code and a message a member can read."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from points.exceptions import DomainError


class ProductUnavailable(DomainError):
    code = "product_unavailable"
    default_message = _("This item is not available for redemption.")


class SaleNotStarted(DomainError):
    code = "sale_not_started"
    default_message = _("This item can be redeemed from %(start)s.")


class SaleEnded(DomainError):
    code = "sale_ended"
    default_message = _("This item's redemption period has ended.")


class OutOfStock(DomainError):
    code = "out_of_stock"
    default_message = _("Only %(left)s left.")


class SoldOut(DomainError):
    code = "sold_out"
    default_message = _("Sold out.")


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_message = _("You can redeem 1 to %(limit)s of this item per order.")


class DailyLimitReached(DomainError):
    code = "daily_limit"
    default_message = _("You can redeem this %(limit)s time(s) a day; you have %(left)s left today.")


class LifetimeLimitReached(DomainError):
    code = "lifetime_limit"
    default_message = _("You can redeem this %(limit)s time(s) in total; you have %(left)s left.")


class OrderCapExceeded(DomainError):
    code = "order_cap"
    default_message = _("One order can use at most %(cap)s points.")


class TierRequired(DomainError):
    code = "tier_required"
    default_message = _("This item is for %(tier)s members and above.")


class AddressRequired(DomainError):
    code = "address_required"
    default_message = _("Choose a shipping address for this item.")


class NoCodesLeft(DomainError):
    code = "no_codes_left"
    default_message = _("This item is out of codes at the moment.")


class OrderNotFound(DomainError):
    code = "order_not_found"
    default_message = _("This order does not exist.")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    default_message = _("This order can't be %(action)s in its current state (%(status)s).")


class ReasonRequired(DomainError):
    code = "reason_required"
    default_message = _("A reason is required.")


class RequestConflict(DomainError):
    code = "request_conflict"
    default_message = _("This request was already used for a different redemption.")


class RefundNotFound(DomainError):
    code = "refund_not_found"
    default_message = _("This order has no cash refund.")


class RefundReferenceRequired(DomainError):
    code = "refund_reference_required"
    default_message = _("Enter the reference of the bank transfer or receipt that paid the money back.")


class RefundAlreadyRecorded(DomainError):
    code = "refund_already_recorded"
    default_message = _("This cash refund was already made on %(time)s.")


class RefundInProgress(DomainError):
    code = "refund_in_progress"
    default_message = _(
        "The payment gateway is refunding this. Record a refund by hand only after the gateway reports it failed."
    )


class RefundNotRetryable(DomainError):
    code = "refund_not_retryable"
    default_message = _("Only a failed gateway refund can be tried again (this one is: %(status)s).")


class PrivilegeUnavailable(ProductUnavailable):
    code = "privilege_unavailable"
    default_message = _("This privilege can't be redeemed yet: what it would give is not available.")


class PrivilegeNotNeeded(DomainError):
    code = "privilege_not_needed"
    default_message = _("You already enjoy %(tier)s or higher: this trial would give you nothing.")
