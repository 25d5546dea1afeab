"""The reminder job never keeps a member waiting: it works in short transactions of a few
accounts (like the expiry sweep), so a member's spend during a long run goes through at once.

The job is held mid-run inside its first batch (a reminder receiver waits on an Event), and
the spends run meanwhile under ``lock_timeout = 1s``: a lock held by the job would make
them fail with a lock timeout, not merely slow down. No sleeps, no timings.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from points import services
from points.models import Lot
from points.signals import expiry_reminder_due
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def spend_with_lock_timeout(user_id: int, key: str) -> int:
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '1s'")
            return services.points_spend(user_id=user_id, amount=10, idempotency_key=key).balance
    finally:
        connection.close()


def test_a_members_spend_completes_while_the_reminder_job_is_running():
    members = [MemberFactory() for _ in range(4)]
    expires = timezone.now() + timedelta(days=10)
    for number, member in enumerate(members):
        services.points_earn(user_id=member.pk, amount=100, idempotency_key=f"e{number}", expires_at=expires)
    inside_first_batch, spends_done = threading.Event(), threading.Event()
    told: list[int] = []

    def hold_the_job(sender, user_id, **kwargs):
        told.append(user_id)
        if len(told) == 1:
            inside_first_batch.set()
            assert spends_done.wait(60), "the spends never finished"

    outcome: dict[str, object] = {}

    def job() -> None:
        try:
            outcome["told"] = services.points_remind(batch_size=1)
        except Exception as error:  # reported below, in the test's thread
            outcome["error"] = error
        finally:
            connection.close()

    expiry_reminder_due.connect(hold_the_job)
    try:
        runner = threading.Thread(target=job, daemon=True)
        runner.start()
        assert inside_first_batch.wait(60)
        # The job is running (held in its first batch); a member in a later batch spends now.
        balances = [spend_with_lock_timeout(member.pk, f"s{member.pk}") for member in members[1:]]
        still_running = runner.is_alive()
        spends_done.set()
        runner.join(60)
    finally:
        expiry_reminder_due.disconnect(hold_the_job)

    assert still_running
    assert balances == [90, 90, 90]
    assert outcome == {"told": 4}
    assert sorted(told) == sorted(member.pk for member in members)
    assert Lot.objects.filter(reminded_at__isnull=True).count() == 0
    assert services.points_verify().ok
