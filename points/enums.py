"""Choices other apps pass into points.services."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    VEST = "vest", _("Became available")
    SPEND = "spend", _("Spent")
    REFUND = "refund", _("Refunded")
    REVERSE = "reverse", _("Reversed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")
    DEBT_REPAY = "debt_repay", _("Owed points repaid")
    # The member deleted their account: every point they still had ends (docs/decisions/0052).
    FORFEIT = "forfeit", _("Forfeited")


class LotStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    AVAILABLE = "available", _("Available")
    CANCELLED = "cancelled", _("Cancelled")


class ExpiryMode(models.TextChoices):
    ROLLING_MONTHS = "rolling", _("Rolling: N months after earning")
    CALENDAR_YEAR_END = "year_end", _("End of the calendar year")
    NEVER = "never", _("Never expire")


class ExpiryRounding(models.TextChoices):
    NONE = "none", _("Exact instant")
    END_OF_DAY = "day", _("End of that day")
    END_OF_MONTH = "month", _("End of that month")


class HistoryFilter(models.TextChoices):
    ALL = "all", _("All")
    EARNED = "earned", _("Earned")
    SPENT = "spent", _("Spent")
    EXPIRED = "expired", _("Expired")


class EarningSource(models.TextChoices):
    SIGNUP = "signup", _("Sign-up bonus")
    PURCHASE = "purchase", _("Purchase")
    FIRST_PURCHASE = "first_purchase", _("First purchase bonus")
    REVIEW = "review", _("Review")
    SHARE = "share", _("Share")
    SURVEY = "survey", _("Survey")
    CHECKIN = "checkin", _("Daily check-in")
    TASK = "task", _("Task")
    REFERRAL_SIGNUP = "referral_signup", _("Friend signed up")
    REFERRAL_FIRST_ORDER = "referral_first_order", _("Friend's first order")
    LOTTERY = "lottery", _("Prize draw")
    LEADERBOARD = "leaderboard", _("Leaderboard prize")


# Sources an earning rule governs (caps, multipliers, campaigns). A leaderboard prize is paid
# as the operator set it in its prize band: no rule, no multiplier, no campaign.
RULE_SOURCES = [source for source in EarningSource.values if source != EarningSource.LEADERBOARD]


class CapPeriod(models.TextChoices):
    DAY = "day", _("day")
    WEEK = "week", _("week")
    MONTH = "month", _("month")


class PurchaseRateScope(models.TextChoices):
    CATEGORY = "category", _("Category")
    SKU = "sku", _("SKU")


class TierChange(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Expired")


class FreezeAction(models.TextChoices):
    """What an operator did to a points account (points.models.AccountFreeze)."""

    FREEZE = "freeze", _("Frozen")
    UNFREEZE = "unfreeze", _("Unfrozen")
