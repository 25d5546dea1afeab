"""What the accounts app announces. Receivers run inside the sender's transaction.

Connected to the apps that care in the project package (pointsmall/wiring.py), so that no
feature app imports accounts' private modules. Each is sent only when the thing really
happened (for the first time, or changed), with a ``reference`` naming it.
"""

from django.dispatch import Signal

# The member's profile became complete (display name, avatar, verified phone; see
# accounts.selectors.profile_is_complete). Arguments: user_id, reference ("accounts.profile").
profile_completed = Signal()

# The member set their first payment PIN. Arguments: user_id, reference ("accounts.pin").
payment_pin_set = Signal()

# The member added a delivery address. Arguments: user_id, reference ("accounts.address:<id>").
address_added = Signal()

# A friend the member invited signed up and was rewarded (the referral is real). Sent to the
# inviter. Arguments: user_id (the inviter), reference ("referral:<id>").
friend_signed_up = Signal()
