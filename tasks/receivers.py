"""What the tasks app does when other apps announce something (their signals; the arrows go one way).

The ledger's and the tasks app's own signals are connected here. The accounts and catalog
signals are connected in the project package (pointsmall/wiring.py), because the tasks app
may not import those apps' signal modules (import contracts in pyproject.toml); the
functions they call are the plain receivers below. All run inside the sender's transaction.
"""

from __future__ import annotations

from datetime import timedelta

from django.dispatch import receiver
from django.utils import timezone

from points import selectors as points_selectors
from points.signals import points_refunded
from tasks.enums import TaskEvent
from tasks.selectors.task import has_event_tasks
from tasks.services.task import task_event_record, task_event_undo
from tasks.signals import checkin_recorded

# --- Tasks and surveys ------------------------------------------------------------------------


def on_profile_completed(sender, user_id: int, reference: str, **kwargs) -> None:
    task_event_record(user_id=user_id, event=TaskEvent.PROFILE_COMPLETED, reference=reference)


def on_payment_pin_set(sender, user_id: int, reference: str, **kwargs) -> None:
    task_event_record(user_id=user_id, event=TaskEvent.PIN_SET, reference=reference)


def on_address_added(sender, user_id: int, reference: str, **kwargs) -> None:
    task_event_record(user_id=user_id, event=TaskEvent.ADDRESS_ADDED, reference=reference)


def on_friend_signed_up(sender, user_id: int, reference: str, **kwargs) -> None:
    task_event_record(user_id=user_id, event=TaskEvent.FRIEND_SIGNED_UP, reference=reference)


def on_redemption_placed(sender, user_id: int, reference: str, first: bool, **kwargs) -> None:
    """A first redemption completes its task; the reward vests after the same returns window
    as the ledger's purchases, so an order cancelled before then takes it back unpaid."""
    if first and has_event_tasks(event=TaskEvent.FIRST_REDEMPTION):
        now = timezone.now()
        vests = now + timedelta(days=points_selectors.live_rules().pending_days)
        task_event_record(
            user_id=user_id, event=TaskEvent.FIRST_REDEMPTION, reference=reference, available_at=vests, now=now
        )


def on_review_posted(sender, user_id: int, reference: str, **kwargs) -> None:
    task_event_record(user_id=user_id, event=TaskEvent.REVIEW_POSTED, reference=reference)


def on_review_removed(sender, user_id: int, reference: str, **kwargs) -> None:
    task_event_undo(user_id=user_id, event=TaskEvent.REVIEW_POSTED, reference=reference)


@receiver(points_refunded, dispatch_uid="tasks.undo_first_redemption")
def undo_first_redemption(sender, user_id: int, reference: str, full: bool, **kwargs) -> None:
    """A redemption given back in full (cancelled, rejected, timed out) no longer counts."""
    if full and reference:
        task_event_undo(user_id=user_id, event=TaskEvent.FIRST_REDEMPTION, reference=reference)


@receiver(checkin_recorded, dispatch_uid="tasks.checkin_streak")
def on_checkin_recorded(sender, user_id: int, day, streak: int, at=None, **kwargs) -> None:
    """A check-in streak of N days completes a "check in N days in a row" task (the streak
    counts as reached once: one reference per day), in the task period of the check-in's
    instant ``at`` (a back-dated check-in, as the demo seeds, counts for its own week).
    Without such a task it costs one read and no savepoint (every first check-in comes here)."""
    if not has_event_tasks(event=TaskEvent.CHECKIN_STREAK):
        return
    task_event_record(
        user_id=user_id,
        event=TaskEvent.CHECKIN_STREAK,
        reference=f"tasks.checkin:{day.isoformat()}",
        value=streak,
        now=at,
    )
