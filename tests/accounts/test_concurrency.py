"""Account rules under real concurrency: threads with their own Postgres connections, released together."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from accounts import services
from accounts.enums import NotificationKind
from accounts.exceptions import AddressLimitReachedError, PinIncorrectError, PinLockedError
from accounts.models import Address, Notification, PaymentPin
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
ADDRESS = {"recipient": "R", "phone": "13812345678", "province": "P", "city": "C", "detail": "D"}


def run_together(calls: list[Callable[[], object]], timeout: float = 60) -> list[object]:
    """Run each call in its own thread, all released at once; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=timeout)
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: deadlock or lost lock"
    return results


def outcome_counts(results: list[object]) -> Counter:
    return Counter(type(r).__name__ for r in results)


def test_concurrent_wrong_pins_are_each_counted_and_lock_after_five():
    member = MemberFactory()
    services.pin_set(user_id=member.pk, pin="135790")
    with time_machine.travel(T0, tick=False):
        results = run_together([lambda: services.pin_verify(user_id=member.pk, pin="000001")] * 10)
    assert outcome_counts(results) == {"PinIncorrectError": 4, "PinLockedError": 6}
    assert sorted(r.attempts_left for r in results if isinstance(r, PinIncorrectError)) == [1, 2, 3, 4]
    assert all(r.locked_until == T0 + timedelta(minutes=15) for r in results if isinstance(r, PinLockedError))
    row = PaymentPin.objects.values("failed_attempts", "locked_until").get(user=member)
    assert row == {"failed_attempts": 5, "locked_until": T0 + timedelta(minutes=15)}


def test_concurrent_first_addresses_leave_exactly_one_default():
    member = MemberFactory()
    results = run_together([lambda: services.address_create(user_id=member.pk, **ADDRESS)] * 6)
    assert all(not isinstance(r, Exception) for r in results), results
    assert Address.objects.filter(user=member).count() == 6
    assert Address.objects.filter(user=member, is_default=True).count() == 1


def test_concurrent_adds_stop_at_the_cap():
    member = MemberFactory()
    for _ in range(17):
        services.address_create(user_id=member.pk, **ADDRESS)
    results = run_together([lambda: services.address_create(user_id=member.pk, **ADDRESS)] * 6)
    assert outcome_counts(results) == {"AddressView": 3, "AddressLimitReachedError": 3}
    assert all(isinstance(r, AddressLimitReachedError) for r in results if isinstance(r, Exception))
    assert Address.objects.filter(user=member).count() == 20


def test_concurrent_set_default_and_delete_keep_exactly_one_default():
    member = MemberFactory()
    ids = [services.address_create(user_id=member.pk, **ADDRESS).id for _ in range(6)]
    calls = [lambda pk=pk: services.address_set_default(user_id=member.pk, address_id=pk) for pk in ids[1:4]]
    calls += [lambda: services.address_delete(user_id=member.pk, address_id=ids[0])]
    results = run_together(calls)
    assert all(not isinstance(r, Exception) for r in results), results
    assert Address.objects.filter(user=member).count() == 5
    assert Address.objects.filter(user=member, is_default=True).count() == 1


def test_a_retried_notification_sent_twice_at_once_is_stored_once():
    member = MemberFactory()

    def send() -> int:
        return services.notification_send(
            user_id=member.pk, kind=NotificationKind.POINTS, title="Once", body="", dedupe_key="job:7"
        )

    results = run_together([send] * 6)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert Notification.objects.filter(user=member).count() == 1
