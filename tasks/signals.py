"""What the tasks app announces. Receivers run inside the sender's transaction."""

from django.dispatch import Signal

# A member checked in (or made up a missed day): user_id, day (date), streak (int, the
# current streak after this check-in, recomputed after a make-up), makeup (bool), at (the
# instant the check-in was recorded: its task period).
checkin_recorded = Signal()
