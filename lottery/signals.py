"""What the lottery announces. Receivers run inside the draw's transaction; the lottery imports
none of them (the project's integration app listens)."""

from django.dispatch import Signal

# A draw won a prize (the prize picked, or the consolation prize after a fall-through), sent
# inside the draw's transaction, never for a replayed draw. Arguments: user_id, draw_id,
# campaign_id, campaign_name, prize_id, prize_name (both names as the operator wrote them in
# Chinese), prize_kind (PrizeKind value), points (int: the points won, 0 for other kinds),
# reference ("lottery.draw:<id>"), reward_reference (what delivered it: "catalog.order:<id>" for
# an item or code, "points.entry:<id>" for points).
prize_won = Signal()
