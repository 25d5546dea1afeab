"""The ledger's public write surface. No other module writes a points table, ever."""

from points.selectors.identities import identity_hash  # accounts hashes the invited e-mail with the same key
from points.services._core import Receipt
from points.services.earning import (
    AwardResult,
    claim_identities,
    points_award,
    points_campaigns_switch_off,
    signup_bonus_grant,
)
from points.services.expiry import ledger_maintain, points_expire, points_remind
from points.services.forfeit import ForfeitResult, points_forfeit
from points.services.freeze import MAX_REASON_CHARS as MAX_FREEZE_REASON_CHARS
from points.services.freeze import points_account_freeze, points_account_unfreeze
from points.services.holds import (
    HoldReceipt,
    points_hold_capture,
    points_hold_place,
    points_hold_release,
    points_holds_expire,
)
from points.services.ledger import (
    account_open,
    points_adjust,
    points_earn,
    points_refund,
    points_reverse,
    points_spend,
)
from points.services.locking import account_lock
from points.services.purchases import (
    ImportReport,
    PurchaseLine,
    PurchaseRefundResult,
    PurchaseResult,
    points_import_purchases,
    purchase_record,
    purchase_refund,
)
from points.services.reports import BatchReport
from points.services.tiers import (
    MAX_TRIAL_DAYS,
    RecalculationReport,
    TierTrialResult,
    points_tiers_recalculate,
    points_tiers_warn_downgrades,
    tier_trial_grant,
)
from points.services.verify import CHECKS, VerifyReport, Violation, points_verify
from points.services.vesting import points_vest

__all__ = [
    "CHECKS",
    "MAX_FREEZE_REASON_CHARS",
    "MAX_TRIAL_DAYS",
    "AwardResult",
    "BatchReport",
    "ForfeitResult",
    "HoldReceipt",
    "ImportReport",
    "PurchaseLine",
    "PurchaseRefundResult",
    "PurchaseResult",
    "RecalculationReport",
    "Receipt",
    "TierTrialResult",
    "VerifyReport",
    "Violation",
    "account_lock",
    "account_open",
    "claim_identities",
    "identity_hash",
    "ledger_maintain",
    "points_account_freeze",
    "points_account_unfreeze",
    "points_adjust",
    "points_award",
    "points_campaigns_switch_off",
    "points_earn",
    "points_expire",
    "points_forfeit",
    "points_hold_capture",
    "points_hold_place",
    "points_hold_release",
    "points_holds_expire",
    "points_import_purchases",
    "points_refund",
    "points_remind",
    "points_reverse",
    "points_spend",
    "points_tiers_recalculate",
    "points_tiers_warn_downgrades",
    "points_verify",
    "points_vest",
    "purchase_record",
    "purchase_refund",
    "signup_bonus_grant",
    "tier_trial_grant",
]
