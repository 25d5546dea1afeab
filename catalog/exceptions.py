"""Refusals of the catalog, each with a code and a message a member (or, for a payment
notification, the gateway) can read. The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.uploads.exceptions import ImageRefused
from pointsmall.kernel.errors import DomainError


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
    http_status = 404
    default_message = _("This order does not exist.")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409
    default_message = _("This order can't be %(action)s in its current state (%(status)s).")


class ReasonRequired(DomainError):
    code = "reason_required"
    default_message = _("A reason is required.")


class RequestConflict(DomainError):
    code = "request_conflict"
    http_status = 409
    default_message = _("This request was already used for a different redemption.")


class RefundNotFound(DomainError):
    code = "refund_not_found"
    http_status = 404
    default_message = _("This order has no cash refund.")


class RefundReferenceRequired(DomainError):
    code = "refund_reference_required"
    default_message = _("Enter the reference of the bank transfer or receipt that paid the money back.")


class RefundAlreadyRecorded(DomainError):
    code = "refund_already_recorded"
    http_status = 409
    default_message = _("This cash refund was already made on %(time)s.")


class RefundInProgress(DomainError):
    code = "refund_in_progress"
    http_status = 409
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


class CouponNotFound(DomainError):
    code = "coupon_not_found"
    http_status = 404
    default_message = _("No coupon has this code. Check the code and try again.")


class CouponNotActive(DomainError):
    code = "coupon_not_active"
    default_message = _("This coupon can't be used yet: its order is %(status)s.")


class CouponExpired(DomainError):
    code = "coupon_expired"
    default_message = _("This coupon expired on %(until)s.")


class CouponAlreadyUsed(DomainError):
    code = "coupon_already_used"
    http_status = 409
    default_message = _("This coupon was already used on %(used_at)s (verified by %(used_by)s).")


class ReviewNotAllowed(DomainError):
    code = "review_not_allowed"
    default_message = _("You can review this item once it has been delivered.")


class AlreadyReviewed(DomainError):
    code = "already_reviewed"
    http_status = 409
    default_message = _("You have already reviewed this order.")


class ReviewNotFound(DomainError):
    code = "review_not_found"
    http_status = 404
    default_message = _("This review does not exist (any more).")


class InvalidReview(DomainError):
    code = "invalid_review"
    default_message = _("Give 1 to 5 stars and write a review of at most %(limit)s characters.")


class InvalidStockChange(DomainError):
    code = "invalid_stock_change"
    default_message = _("Stock can't go below zero: %(stock)s left, change %(delta)s.")


class PaymentError(DomainError):
    code = "payment_error"
    default_message = _("The payment could not be started.")


class PaymentExpired(PaymentError):
    code = "payment_expired"
    default_message = _(
        "The time to pay for this order ran out at %(time)s. It will be cancelled and your points refunded."
    )


class InvalidNotification(PaymentError):
    """A notification we will not act on. Its message goes back to the gateway, not to a member."""

    code = "invalid_notification"
    default_message = _("Invalid notification: %(reason)s")


class BadSignature(InvalidNotification):
    code = "bad_signature"
    default_message = _("Invalid notification: missing or wrong signature.")


class StaleNotification(InvalidNotification):
    code = "stale_notification"
    default_message = _("Invalid notification: its timestamp is more than %(limit)s seconds away from ours.")


class RefundRefused(PaymentError):
    """The gateway will not refund this (it never took the payment, or the amount is wrong)."""

    code = "refund_refused"
    default_message = _("The gateway refused the refund: %(reason)s")


class PaymentMismatch(InvalidNotification):
    code = "payment_mismatch"
    default_message = _("The notification does not match the order: %(reason)s.")


class RefundMismatch(InvalidNotification):
    code = "refund_mismatch"
    default_message = _("The refund notification does not match: %(reason)s.")


class InvalidProductImage(ImageRefused):
    code = "invalid_product_image"
    default_message = _("This file is not an image we can use. Upload a PNG, JPEG or WebP picture.")


class ProductImageTooLarge(InvalidProductImage):
    code = "product_image_too_large"
    default_message = _("The picture is too large (%(size)s). Upload one of at most %(limit)s.")


class ProductImageTooManyPixels(InvalidProductImage):
    code = "product_image_too_many_pixels"
    default_message = _("The picture has too many pixels. Upload one of at most %(limit)s megapixels.")
