"""Refusals of the catalog, each with a code and a message a member (or, for a payment
notification, the gateway) can read. The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.uploads.exceptions import ImageRefusedError
from pointsmall.kernel.errors import DomainError


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
    http_status = 404
    default_message = _("This order does not exist.")


class InvalidTransitionError(DomainError):
    code = "invalid_transition"
    http_status = 409
    default_message = _("This order can't be %(action)s in its current state (%(status)s).")


class ReasonRequiredError(DomainError):
    code = "reason_required"
    default_message = _("A reason is required.")


class RequestConflictError(DomainError):
    code = "request_conflict"
    http_status = 409
    default_message = _("This request was already used for a different redemption.")


class RefundNotFoundError(DomainError):
    code = "refund_not_found"
    http_status = 404
    default_message = _("This order has no cash refund.")


class RefundReferenceRequiredError(DomainError):
    code = "refund_reference_required"
    default_message = _("Enter the reference of the bank transfer or receipt that paid the money back.")


class RefundAlreadyRecordedError(DomainError):
    code = "refund_already_recorded"
    http_status = 409
    default_message = _("This cash refund was already made on %(time)s.")


class RefundInProgressError(DomainError):
    code = "refund_in_progress"
    http_status = 409
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


class PrivilegeInUseError(DomainError):
    code = "privilege_in_use"
    http_status = 409
    default_message = _("This privilege has already been used, so the order can't be cancelled.")


class CouponNotFoundError(DomainError):
    code = "coupon_not_found"
    http_status = 404
    default_message = _("No coupon has this code. Check the code and try again.")


class CouponNotActiveError(DomainError):
    code = "coupon_not_active"
    default_message = _("This coupon can't be used yet: its order is %(status)s.")


class CouponExpiredError(DomainError):
    code = "coupon_expired"
    default_message = _("This coupon expired on %(until)s.")


class CouponAlreadyUsedError(DomainError):
    code = "coupon_already_used"
    http_status = 409
    default_message = _("This coupon was already used on %(used_at)s (verified by %(used_by)s).")


class ReviewNotAllowedError(DomainError):
    code = "review_not_allowed"
    default_message = _("You can review this item once it has been delivered.")


class AlreadyReviewedError(DomainError):
    code = "already_reviewed"
    http_status = 409
    default_message = _("You have already reviewed this order.")


class ReviewNotFoundError(DomainError):
    code = "review_not_found"
    http_status = 404
    default_message = _("This review does not exist (any more).")


class InvalidReviewError(DomainError):
    code = "invalid_review"
    default_message = _("Give 1 to 5 stars and write a review of at most %(limit)s characters.")


class InvalidStockChangeError(DomainError):
    code = "invalid_stock_change"
    default_message = _("Stock can't go below zero: %(stock)s left, change %(delta)s.")


class PaymentError(DomainError):
    code = "payment_error"
    default_message = _("The payment could not be started.")


class PaymentExpiredError(PaymentError):
    code = "payment_expired"
    default_message = _(
        "The time to pay for this order ran out at %(time)s. It will be cancelled and your points refunded."
    )


class InvalidNotificationError(PaymentError):
    """A notification we will not act on. Its message goes back to the gateway, not to a member."""

    code = "invalid_notification"
    default_message = _("Invalid notification: %(reason)s")


class BadSignatureError(InvalidNotificationError):
    code = "bad_signature"
    default_message = _("Invalid notification: missing or wrong signature.")


class StaleNotificationError(InvalidNotificationError):
    code = "stale_notification"
    default_message = _("Invalid notification: its timestamp is more than %(limit)s seconds away from ours.")


class RefundRefusedError(PaymentError):
    """The gateway will not refund this (it never took the payment, or the amount is wrong)."""

    code = "refund_refused"
    default_message = _("The gateway refused the refund: %(reason)s")


class PaymentMismatchError(InvalidNotificationError):
    code = "payment_mismatch"
    default_message = _("The notification does not match the order: %(reason)s.")


class RefundMismatchError(InvalidNotificationError):
    code = "refund_mismatch"
    default_message = _("The refund notification does not match: %(reason)s.")


class InvalidProductImageError(ImageRefusedError):
    code = "invalid_product_image"
    default_message = _("This file is not an image we can use. Upload a PNG, JPEG or WebP picture.")


class ProductImageTooLargeError(InvalidProductImageError):
    code = "product_image_too_large"
    default_message = _("The picture is too large (%(size)s). Upload one of at most %(limit)s.")


class ProductImageTooManyPixelsError(InvalidProductImageError):
    code = "product_image_too_many_pixels"
    default_message = _("The picture has too many pixels. Upload one of at most %(limit)s megapixels.")


class SandboxPaidByGatewayError(PaymentError):
    """An operator may not confirm by hand a payment the sandbox gateway confirms with its signed notification."""

    code = "sandbox_paid_by_gateway"
    default_message = _("paid through the sandbox gateway: its signed notification confirms the payment.")
