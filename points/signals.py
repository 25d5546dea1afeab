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

# Sent inside the transaction of a member's first spend (first redemption). Arguments: user_id,
# entry_id, amount, reference, available_at (when a reward tied to it may vest: after the returns window).
points_spent = Signal()

# Sent after a host-shop purchase refund is recorded. Arguments: user_id, external_id, full (bool).
purchase_refunded = Signal()
