"""What the catalog announces. Receivers run inside the sender's transaction.

Connected to the apps that care in the project package (pointsmall/wiring.py): the catalog
imports none of them.
"""

from django.dispatch import Signal

# A member redeemed (an order was placed and paid in points). Arguments: user_id, order_id,
# reference ("catalog.order:<id>", the reference of its points), first (bool: the member has
# no other order that still stands, i.e. not cancelled or rejected).
redemption_placed = Signal()

# An order was created, whatever made it: a redemption (points, or points + cash) or a lottery
# prize delivered as a 0-point order. Not sent for a replayed call. Arguments: user_id,
# order_id, source ("redemption" or "lottery_prize"), status (its first OrderStatus),
# product_id, product_name (as written on the order), kind (ProductKind), quantity (int),
# points_total (int), cash_total (Decimal, yuan).
order_created = Signal()

# An order moved from one status to another (``services.orders.order_transition``, the only
# place a status changes). Arguments: user_id, order_id, old_status, new_status (OrderStatus
# values), action (``order_states.Action`` value, e.g. "ship"), product_name (as on the order).
order_status_changed = Signal()

# A member posted a review. Arguments: user_id, review_id, order_id, reference ("catalog.review:<id>").
review_posted = Signal()

# An operator removed a review. Arguments: user_id, review_id, order_id, reference ("catalog.review:<id>").
review_removed = Signal()
