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

# ``QuerySet.update()`` (or ``bulk_update``) changed the staff or superuser flag of users: a
# change of power that sends no post_save. Sent inside the update's transaction, once per
# update, only when a flag really changed. Argument: changes, a list of dicts with user_id,
# subject (the e-mail address), field ("is_staff" / "is_superuser"), old and new (booleans).
privilege_flags_updated = Signal()
