from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CategoryIcon(models.TextChoices):
    """The icons an operator may give a category: a curated few of the vendored Tabler set
    (static/vendor/tabler-icons-3.52.0/, the value is the icon's file name). An unset icon draws
    ``CATEGORY_ICON_FALLBACK``."""

    GIFT = "gift", _("Gift")
    DEVICE_MOBILE = "device-mobile", _("Phone and electronics")
    DEVICE_LAPTOP = "device-laptop", _("Computer")
    HEADPHONES = "headphones", _("Headphones and audio")
    DEVICE_GAMEPAD = "device-gamepad-2", _("Games")
    HOME = "home", _("Home and living")
    ARMCHAIR = "armchair", _("Furniture")
    SHIRT = "shirt", _("Clothing")
    SHOE = "shoe", _("Shoes")
    TOOLS_KITCHEN = "tools-kitchen-2", _("Food and kitchen")
    COFFEE = "coffee", _("Drinks")
    BOOK = "book", _("Books")
    PENCIL = "pencil", _("Stationery")
    BALL = "ball-basketball", _("Sports")
    BIKE = "bike", _("Outdoors")
    SPARKLES = "sparkles", _("Beauty")
    PERFUME = "perfume", _("Fragrance")
    BABY = "baby-carriage", _("Mother and baby")
    PAW = "paw", _("Pets")
    HEART = "heart", _("Health")
    CAR = "car", _("Car")
    BOLT = "bolt", _("Top-ups")
    CREDIT_CARD = "credit-card", _("Cards and vouchers")
    PLANE = "plane", _("Travel")
    TICKET = "ticket", _("Tickets")
    DISCOUNT = "discount", _("Coupons")
    CATEGORY = "category", _("Other")


CATEGORY_ICON_FALLBACK = CategoryIcon.GIFT


class ProductKind(models.TextChoices):
    PHYSICAL = "physical", _("Physical goods")
    VIRTUAL = "virtual", _("Virtual (code)")
    COUPON = "coupon", _("Coupon")
    PRIVILEGE = "privilege", _("Privilege")


class OrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PENDING_REVIEW = "pending_review", _("Under review")
    APPROVED = "approved", _("Approved")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class StockReason(models.TextChoices):
    RESTOCK = "restock", _("Restock")
    REDEMPTION = "redemption", _("Redemption")
    RETURN = "return", _("Returned by a cancelled order")
    CORRECTION = "correction", _("Manual correction")


class PaymentBackendName(models.TextChoices):
    OFFLINE = "offline", _("Offline (confirmed by an operator)")
    SANDBOX = "sandbox", _("Sandbox gateway")


class SortOrder(models.TextChoices):
    POPULAR = "popular", _("Popular")
    NEWEST = "newest", _("Newest")
    POINTS_ASC = "points", _("Points: low to high")
    POINTS_DESC = "-points", _("Points: high to low")


class RefundStatus(models.TextChoices):
    DUE = "due", pgettext_lazy("cash refund", "Refund due")
    REFUNDED = "refunded", pgettext_lazy("cash refund", "Refunded")
    FAILED = "failed", pgettext_lazy("cash refund", "Refund failed")


class RefundReason(models.TextChoices):
    CANCELLED = "cancelled", _("Order cancelled after payment")
    REJECTED = "rejected", _("Order rejected after payment")
    LATE_PAYMENT = "late_payment", _("Payment arrived after the order was cancelled")


class PrivilegeEffect(models.TextChoices):
    """What a privilege item does for the member once its order completes (docs/decisions/0020).

    Only effects with a service that delivers them may be put on sale (``catalog.services.
    privileges``); the check-in cards are declared here and delivered by the check-in app.
    """

    TIER_TRIAL = "tier_trial", _("Tier trial: a higher tier for some days")
    MAKEUP_CARD = "makeup_card", _("Make-up check-in card")
    CHECKIN_MULTIPLIER = "checkin_multiplier", _("Check-in points multiplier")


class PaymentOutcome(models.TextChoices):
    """What applying a gateway's payment notification did (``services.payment_notification_apply``)."""

    PAID = "paid"
    ALREADY_PROCESSED = "already_processed"
    LATE = "late"


class RefundOutcome(models.TextChoices):
    """What applying a gateway's refund notification did (``services.refund_notification_apply``)."""

    REFUNDED = "refunded"
    FAILED = "failed"
    ALREADY_PROCESSED = "already_processed"
    SUPERSEDED = "superseded"
