"""What the ledger announces. Other apps listen; the ledger imports none of them."""

from django.dispatch import Signal

# Sent inside the reminder job's transaction, once per member and reminder batch.
# Arguments: user_id (int), points (int), expires_on (date: last day the points can be spent).
expiry_reminder_due = Signal()
