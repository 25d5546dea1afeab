"""What the catalog announces. Receivers run inside the sender's transaction.

Connected to the apps that care in the project package (pointsmall/wiring.py): the catalog
imports none of them.
"""

from django.dispatch import Signal

# A member redeemed (an order was placed and paid in points). Arguments: user_id, order_id,
# reference ("catalog.order:<id>", the reference of its points), first (bool: the member has
# no other order that still stands, i.e. not cancelled or rejected).
redemption_placed = Signal()

# A member posted a review. Arguments: user_id, review_id, order_id, reference ("catalog.review:<id>").
review_posted = Signal()

# An operator removed a review. Arguments: user_id, review_id, order_id, reference ("catalog.review:<id>").
review_removed = Signal()
