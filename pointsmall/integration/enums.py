from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WebhookEventType(models.TextChoices):
    ORDER_CREATED = "order.created", _("Order created")
    ORDER_STATUS_CHANGED = "order.status_changed", _("Order status changed")
    POINTS_EARNED = "points.earned", _("Points earned")
    POINTS_SPENT = "points.spent", _("Points spent")
    POINTS_EXPIRING = "points.expiring", _("Points expiring")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    LOTTERY_WON = "lottery.won", _("Prize won")


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    # Not an order's "Delivered" (签收): the receiver accepted the webhook.
    SENT = "sent", pgettext_lazy("webhook delivery", "Delivered")
    FAILED = "failed", _("Gave up")
