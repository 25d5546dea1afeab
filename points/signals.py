"""What the ledger announces. Other apps listen; the ledger imports none of them."""

from django.dispatch import Signal

# Sent inside the reminder job's transaction, once per member and reminder batch.
# Arguments: user_id (int), dates (list of (date, points) in date order: the points that can be
# spent up to the end of that day and no longer), points (int: their total), expires_on (date:
# the first of those days), reminder_id (int: stable id of this reminder, for deduplication).
expiry_reminder_due = Signal()

# Sent when a member's tier changes. Arguments: user_id, old_tier (code or ""), new_tier (code),
# change ("upgrade" or "downgrade").
tier_changed = Signal()

# Sent once per recalculation cycle to a member who would drop a tier at the next one.
# Arguments: user_id, tier (code), needed (points to earn), deadline (date: last day to earn them).
tier_downgrade_warning = Signal()

# Sent after a host-shop purchase is recorded. Arguments: user_id, external_id, first (bool),
# points (int), available_at (datetime: when its points vest).
purchase_recorded = Signal()

# Sent inside the transaction of every spend, never for a replayed call. Arguments: user_id,
# entry_id, amount (int, points taken), reference, balance_after (int: spendable points left),
# first (bool: the member's first spend ever, i.e. their first redemption; rewards tied to a first
# redemption act only on it), available_at (when a reward tied to it may vest: after the returns window;
# None when ``first`` is False, as no reward is tied to a later spend).
points_spent = Signal()

# Sent inside the transaction of every refund of a spend (a redemption cancelled, rejected or
# timed out gives its points back), never for a replayed refund. Arguments: user_id,
# spend_entry_id, refund_entry_id, amount (points given back by this refund), reference (the
# spend's reference, e.g. "catalog.order:7"), full (bool: nothing of the spend is left to refund).
# Rewards given because of that spend (a referral's first-order reward) are withdrawn on it.
points_refunded = Signal()

# Sent after a host-shop purchase refund is recorded. Arguments: user_id, external_id, full (bool).
purchase_refunded = Signal()

# Sent inside the transaction of every new credit of points to a member (points_earn: a purchase,
# an award, a prize; and an operator's positive adjustment), never for a replayed call.
# Arguments: user_id, entry_id, points (int), source (an EarningSource value, "adjust" for an
# operator's adjustment, or ""), pending (bool: the points vest later), available_at (datetime:
# when they can be spent), memo (dict: the history text as points.notices.nested(), or {}),
# balance_after (int: the spendable points after it; pending points are not in it yet).
points_earned = Signal()

# Sent by the point value's admin page after an operator changed the value of a point (inside the
# request's transaction). Arguments: old, new (Decimal: yuan per point). A receiver returns a list
# of texts (translated) to warn the operator with, or None: the lottery lists its live campaigns
# whose prizes the new value puts above the top-prize cap. The ledger knows none of its listeners.
point_value_changed = Signal()
