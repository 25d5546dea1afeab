"""The ledger's public write surface. No other module writes a points table, ever."""

from points.services._core import Receipt
from points.services.batch import (
    BatchReport,
    FutureAsOf,
    points_expire_due,
    points_send_expiry_reminders,
    points_vest_due,
)
from points.services.ledger import (
    account_open,
    points_adjust,
    points_earn,
    points_refund,
    points_reverse,
    points_spend,
)
from points.services.verify import CHECKS, VerifyReport, Violation, points_verify

__all__ = [
    "CHECKS",
    "BatchReport",
    "FutureAsOf",
    "Receipt",
    "VerifyReport",
    "Violation",
    "account_open",
    "points_adjust",
    "points_earn",
    "points_expire_due",
    "points_refund",
    "points_reverse",
    "points_send_expiry_reminders",
    "points_spend",
    "points_verify",
    "points_vest_due",
]
