"""The payment PIN: set, change, verify with a lockout after five wrong attempts, and its page."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse

from accounts import selectors, services
from accounts.exceptions import (
    PasswordIncorrectError,
    PinAlreadySetError,
    PinIncorrectError,
    PinInvalidError,
    PinLockedError,
    PinNotSetError,
    PinTooWeakError,
)
from accounts.models import PaymentPin
from accounts.pin_hash import pin_hash_check
from accounts.services import pin as pin_service
from pointsmall.kernel.errors import DomainError
from tests.factories import PASSWORD, MemberFactory

PIN = "135790"
NEW_PIN = "246813"
T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
URL = reverse("pin_manage")


def at(**delta):
    return time_machine.travel(T0 + timedelta(**delta), tick=False)


def pin_row(user) -> dict | None:
    return PaymentPin.objects.filter(user=user).values("pin_hash", "failed_attempts", "locked_until").first()


@pytest.fixture
def member_with_pin(member):
    services.pin_set(user_id=member.pk, pin=PIN)
    return member


def fail(user, times: int) -> None:
    for _ in range(times):
        with pytest.raises((PinIncorrectError, PinLockedError)):
            services.pin_verify(user_id=user.pk, pin="000001")


# ---------- services ----------


def test_errors_are_domain_errors_with_codes():
    assert issubclass(PinLockedError, DomainError)
    assert issubclass(PinIncorrectError, DomainError)
    assert (PinIncorrectError(attempts_left=2).code, PinLockedError(locked_until=T0, now=T0).code) == (
        "pin_incorrect",
        "pin_locked",
    )


def test_set_stores_only_a_hash(member):
    services.pin_set(user_id=member.pk, pin=PIN)
    row = pin_row(member)
    assert row["pin_hash"].startswith("pin-hmac-sha256$")
    assert PIN not in row["pin_hash"]
    assert pin_hash_check(user_id=member.pk, pin=PIN, stored=row["pin_hash"]).matches
    assert (row["failed_attempts"], row["locked_until"]) == (0, None)
    assert selectors.pin_is_set(user_id=member.pk) is True


def test_pin_is_set_is_false_without_a_pin(member):
    assert selectors.pin_is_set(user_id=member.pk) is False


def test_set_twice_is_refused_and_keeps_the_first(member_with_pin):
    before = pin_row(member_with_pin)
    with pytest.raises(PinAlreadySetError):
        services.pin_set(user_id=member_with_pin.pk, pin=NEW_PIN)
    assert pin_row(member_with_pin) == before


@pytest.mark.parametrize(
    ("pin", "error"),
    [
        ("12345", PinInvalidError),
        ("1234567", PinInvalidError),
        ("12a456", PinInvalidError),
        ("", PinInvalidError),
        ("１３５７９０", PinInvalidError),
        ("000000", PinTooWeakError),
        ("123456", PinTooWeakError),
        ("654321", PinTooWeakError),
    ],
)
def test_set_refuses_bad_pins_and_writes_nothing(member, pin, error):
    with pytest.raises(error):
        services.pin_set(user_id=member.pk, pin=pin)
    assert pin_row(member) is None


def test_verify_accepts_the_right_pin(member_with_pin):
    assert services.pin_verify(user_id=member_with_pin.pk, pin=PIN) is None


def test_verify_without_a_pin_raises_pin_not_set(member):
    with pytest.raises(PinNotSetError):
        services.pin_verify(user_id=member.pk, pin=PIN)


def test_each_wrong_pin_counts_down_and_the_fifth_locks_for_15_minutes(member_with_pin):
    left = []
    with at():
        for _ in range(4):
            with pytest.raises(PinIncorrectError) as wrong:
                services.pin_verify(user_id=member_with_pin.pk, pin="999990")
            left.append(wrong.value.attempts_left)
        with pytest.raises(PinLockedError) as locked:
            services.pin_verify(user_id=member_with_pin.pk, pin="999990")
    assert left == [4, 3, 2, 1]
    assert wrong.value.message == "Wrong PIN. 1 attempt left before PIN use is locked."
    assert locked.value.remaining == timedelta(minutes=15)
    assert locked.value.minutes == 15
    assert locked.value.message == "Too many wrong attempts: PIN use is locked. Try again in 15 minutes."
    assert pin_row(member_with_pin)["failed_attempts"] == 5
    assert pin_row(member_with_pin)["locked_until"] == T0 + timedelta(minutes=15)


def test_while_locked_even_the_right_pin_is_refused_with_the_time_left(member_with_pin):
    with at():
        fail(member_with_pin, 5)
    with at(minutes=1, seconds=30), pytest.raises(PinLockedError) as locked:
        services.pin_verify(user_id=member_with_pin.pk, pin=PIN)
    assert locked.value.remaining == timedelta(minutes=13, seconds=30)
    assert locked.value.message == "Too many wrong attempts: PIN use is locked. Try again in 14 minutes."
    assert pin_row(member_with_pin)["locked_until"] == T0 + timedelta(minutes=15)


LOCKED_15 = "Too many wrong attempts: PIN use is locked. Try again in 15 minutes."


def test_a_lock_set_by_a_clock_a_little_ahead_still_reads_15_minutes():
    """Another web host's clock set the lock 2 ms "later": 15 min + 2 ms must not round up to 16."""
    locked_until = T0 + timedelta(minutes=15, milliseconds=2)
    assert PinLockedError(locked_until=locked_until, now=T0).message == LOCKED_15
    assert selectors.PinStatus(is_set=True, failed_attempts=5, locked_until=locked_until).minutes_locked(T0) == 15


def test_the_minutes_left_round_up_within_the_lock():
    assert [
        PinLockedError(locked_until=T0 + timedelta(minutes=15), now=T0 + delta).minutes
        for delta in (timedelta(0), timedelta(seconds=1), timedelta(minutes=14), timedelta(minutes=14, seconds=59))
    ] == [15, 15, 1, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_attempt_that_waited_for_another_ones_lock_says_15_minutes_not_16(monkeypatch):
    """Two wrong PINs at once: the one that waited for the row while the other locked PIN use
    measured the lock from when it started waiting ("16 minutes"). It must read the real time."""
    member = MemberFactory()
    services.pin_set(user_id=member.pk, pin=PIN)
    with at():
        fail(member, 4)
    holding, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}
    read_the_time = pin_service._now_holding_the_lock

    def hold_the_row_until_released():
        # pin_verify owns its transaction (durable): the first attempt holds the PIN row from
        # inside it, and reads the time only once released, a minute later.
        if threading.current_thread().name == "first":
            holding.set()
            release.wait(30)
        return read_the_time()

    monkeypatch.setattr(pin_service, "_now_holding_the_lock", hold_the_row_until_released)

    def fifth_wrong_pin_a_minute_later() -> None:
        try:
            services.pin_verify(user_id=member.pk, pin="000001")
        except PinLockedError as error:
            results["first"] = error
        finally:
            connection.close()

    def waiting_wrong_pin() -> None:
        try:
            services.pin_verify(user_id=member.pk, pin="000002")
        except Exception as error:
            results["second"] = error
        finally:
            connection.close()

    with time_machine.travel(T0, tick=False) as clock:
        first = threading.Thread(target=fifth_wrong_pin_a_minute_later, name="first", daemon=True)
        first.start()
        assert holding.wait(30)
        second = threading.Thread(target=waiting_wrong_pin, daemon=True)
        second.start()
        _wait_until_a_query_waits_for_a_lock()
        clock.shift(timedelta(minutes=1))
        release.set()
        first.join(30)
        second.join(30)
    assert not first.is_alive() and not second.is_alive()
    assert [(type(results[k]).__name__, results[k].message) for k in ("first", "second")] == [
        ("PinLockedError", LOCKED_15),
        ("PinLockedError", LOCKED_15),
    ]
    # The waiting attempt neither counted nor moved the lock.
    assert pin_row(member)["failed_attempts"] == 5
    assert pin_row(member)["locked_until"] == T0 + timedelta(minutes=16)


def _wait_until_a_query_waits_for_a_lock() -> None:
    """Poll Postgres (not the clock) until another connection is blocked on a row lock."""
    for _ in range(3000):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        threading.Event().wait(0.01)
    raise AssertionError("the second attempt never waited for the PIN row")


def test_after_the_lock_the_right_pin_works_and_resets_the_count(member_with_pin):
    with at():
        fail(member_with_pin, 5)
    with at(minutes=15):
        services.pin_verify(user_id=member_with_pin.pk, pin=PIN)
    assert (pin_row(member_with_pin)["failed_attempts"], pin_row(member_with_pin)["locked_until"]) == (0, None)


def test_after_the_lock_a_wrong_pin_starts_a_fresh_count(member_with_pin):
    with at():
        fail(member_with_pin, 5)
    with at(minutes=16), pytest.raises(PinIncorrectError) as wrong:
        services.pin_verify(user_id=member_with_pin.pk, pin="000001")
    assert wrong.value.attempts_left == 4
    assert (pin_row(member_with_pin)["failed_attempts"], pin_row(member_with_pin)["locked_until"]) == (1, None)


def test_a_right_pin_resets_the_count(member_with_pin):
    fail(member_with_pin, 4)
    services.pin_verify(user_id=member_with_pin.pk, pin=PIN)
    assert pin_row(member_with_pin)["failed_attempts"] == 0
    fail(member_with_pin, 4)
    assert pin_row(member_with_pin)["locked_until"] is None


@pytest.mark.parametrize("pin", ["", "12345", "abcdef", "1357901"])
def test_malformed_pins_count_as_wrong(member_with_pin, pin):
    with pytest.raises(PinIncorrectError):
        services.pin_verify(user_id=member_with_pin.pk, pin=pin)
    assert pin_row(member_with_pin)["failed_attempts"] == 1


def test_change_needs_the_account_password(member_with_pin):
    services.pin_change(user_id=member_with_pin.pk, password=PASSWORD, new_pin=NEW_PIN)
    services.pin_verify(user_id=member_with_pin.pk, pin=NEW_PIN)
    with pytest.raises(PinIncorrectError):
        services.pin_verify(user_id=member_with_pin.pk, pin=PIN)


def test_change_with_a_wrong_password_counts_as_a_failure_and_changes_nothing(member_with_pin):
    before = pin_row(member_with_pin)
    with pytest.raises(PasswordIncorrectError) as refused:
        services.pin_change(user_id=member_with_pin.pk, password="not-my-password", new_pin=NEW_PIN)
    assert refused.value.attempts_left == 4
    assert refused.value.message == "Your account password is not correct. 4 attempts left before PIN use is locked."
    assert pin_row(member_with_pin) == before | {"failed_attempts": 1}


def test_change_clears_failures_and_is_refused_while_locked(member_with_pin):
    fail(member_with_pin, 2)
    services.pin_change(user_id=member_with_pin.pk, password=PASSWORD, new_pin=NEW_PIN)
    assert pin_row(member_with_pin)["failed_attempts"] == 0
    with at():
        fail(member_with_pin, 5)
        before = pin_row(member_with_pin)
        with pytest.raises(PinLockedError):
            services.pin_change(user_id=member_with_pin.pk, password=PASSWORD, new_pin="975318")
    assert pin_row(member_with_pin) == before


@pytest.mark.parametrize(
    ("new_pin", "error"), [("12345", PinInvalidError), ("111111", PinTooWeakError), ("987654", PinTooWeakError)]
)
def test_change_refuses_bad_new_pins_without_counting(member_with_pin, new_pin, error):
    before = pin_row(member_with_pin)
    with pytest.raises(error):
        services.pin_change(user_id=member_with_pin.pk, password=PASSWORD, new_pin=new_pin)
    assert pin_row(member_with_pin) == before


def test_change_without_a_pin_raises_pin_not_set(member):
    with pytest.raises(PinNotSetError):
        services.pin_change(user_id=member.pk, password=PASSWORD, new_pin=NEW_PIN)
    assert pin_row(member) is None


def test_status_forgets_an_expired_lock(member_with_pin):
    with at():
        fail(member_with_pin, 5)
        assert selectors.pin_status(user_id=member_with_pin.pk).is_locked(T0) is True
    with at(minutes=15):
        status = selectors.pin_status(user_id=member_with_pin.pk)
    assert (status.is_set, status.failed_attempts, status.locked_until, status.attempts_left) == (True, 0, None, 5)


# ---------- the page ----------


def test_pin_page_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_without_a_pin_the_page_offers_to_set_one(member_client):
    body = member_client.get(URL).content.decode()
    assert 'data-testid="pin-form"' in body
    assert 'name="action" value="set"' in body
    assert 'name="pin"' in body
    assert 'name="pin_confirm"' in body
    assert "Set PIN" in body
    assert 'data-testid="pin-check-form"' not in body


def test_setting_the_pin_from_the_page(member_client, member):
    response = member_client.post(URL, {"action": "set", "pin": PIN, "pin_confirm": PIN}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    body = response.content.decode()
    assert "Your payment PIN is set." in body
    assert 'name="action" value="change"' in body
    assert pin_hash_check(user_id=member.pk, pin=PIN, stored=pin_row(member)["pin_hash"]).matches


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"pin": "", "pin_confirm": ""}, "pin", "This field is required."),
        ({"pin": "12345", "pin_confirm": "12345"}, "pin", "The PIN must be exactly 6 digits."),
        ({"pin": "1234567", "pin_confirm": "1234567"}, "pin", "The PIN must be exactly 6 digits."),
        ({"pin": "abcdef", "pin_confirm": "abcdef"}, "pin", "The PIN must be exactly 6 digits."),
        ({"pin": " 13579", "pin_confirm": " 13579"}, "pin", "The PIN must be exactly 6 digits."),
        (
            {"pin": "000000", "pin_confirm": "000000"},
            "pin",
            "This PIN is too easy to guess: avoid one digit six times or a straight run like 123456.",
        ),
        (
            {"pin": "123456", "pin_confirm": "123456"},
            "pin",
            "This PIN is too easy to guess: avoid one digit six times or a straight run like 123456.",
        ),
        (
            {"pin": "654321", "pin_confirm": "654321"},
            "pin",
            "This PIN is too easy to guess: avoid one digit six times or a straight run like 123456.",
        ),
        ({"pin": PIN, "pin_confirm": "135791"}, "pin_confirm", "The two PINs do not match."),
        ({"pin": PIN, "pin_confirm": ""}, "pin_confirm", "This field is required."),
    ],
)
def test_bad_pins_on_the_set_form_show_the_error_and_write_nothing(member_client, member, data, field, message):
    response = member_client.post(URL, {"action": "set", **data})
    assert response.status_code == 200
    assert response.context["set_form"].errors[field] == [message]
    assert message in response.content.decode().replace("&#x27;", "'")
    assert pin_row(member) is None


def test_a_stale_set_form_cannot_overwrite_an_existing_pin(member_client, member_with_pin):
    before = pin_row(member_with_pin)
    response = member_client.post(URL, {"action": "set", "pin": NEW_PIN, "pin_confirm": NEW_PIN}, follow=True)
    assert "This form is out of date. Please try again." in response.content.decode()
    assert pin_row(member_with_pin) == before


def test_an_unknown_action_changes_nothing(member_client, member):
    response = member_client.post(URL, {"action": "explode", "pin": PIN, "pin_confirm": PIN}, follow=True)
    assert "This form is out of date. Please try again." in response.content.decode()
    assert pin_row(member) is None


def test_with_a_pin_the_page_offers_change_and_check(member_client, member_with_pin):
    body = member_client.get(URL).content.decode()
    assert 'name="action" value="change"' in body
    for name in ["password", "new_pin", "new_pin_confirm"]:
        assert f'name="{name}"' in body
    assert "Change PIN" in body
    assert 'data-testid="pin-check-form"' in body
    assert 'name="action" value="check"' in body
    assert "Check PIN" in body


def test_changing_the_pin_from_the_page(member_client, member_with_pin):
    data = {"action": "change", "password": PASSWORD, "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN}
    response = member_client.post(URL, data, follow=True)
    assert "Your payment PIN is changed." in response.content.decode()
    assert pin_hash_check(user_id=member_with_pin.pk, pin=NEW_PIN, stored=pin_row(member_with_pin)["pin_hash"]).matches


@pytest.mark.parametrize(
    ("data", "field", "message", "counted"),
    [
        (
            {"password": "wrong-password-1", "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN},
            "password",
            "Your account password is not correct. 4 attempts left before PIN use is locked.",
            1,
        ),
        ({"password": "", "new_pin": NEW_PIN, "new_pin_confirm": NEW_PIN}, "password", "This field is required.", 0),
        (
            {"password": PASSWORD, "new_pin": "12345", "new_pin_confirm": "12345"},
            "new_pin",
            "The PIN must be exactly 6 digits.",
            0,
        ),
        (
            {"password": PASSWORD, "new_pin": "222222", "new_pin_confirm": "222222"},
            "new_pin",
            "This PIN is too easy to guess: avoid one digit six times or a straight run like 123456.",
            0,
        ),
        (
            {"password": PASSWORD, "new_pin": NEW_PIN, "new_pin_confirm": "246810"},
            "new_pin_confirm",
            "The two PINs do not match.",
            0,
        ),
    ],
)
def test_bad_change_input_shows_the_error_and_keeps_the_pin(
    member_client, member_with_pin, data, field, message, counted
):
    before = pin_row(member_with_pin)
    response = member_client.post(URL, {"action": "change", **data})
    assert response.status_code == 200
    assert response.context["change_form"].errors[field] == [message]
    assert pin_row(member_with_pin) == before | {"failed_attempts": counted}


def test_check_my_pin_confirms_the_right_one(member_client, member_with_pin):
    response = member_client.post(URL, {"action": "check", "pin": PIN}, follow=True)
    assert "That is your payment PIN." in response.content.decode()


def test_check_my_pin_counts_down_then_locks_and_the_page_says_when_it_unlocks(member_client, member_with_pin):
    with at():
        response = member_client.post(URL, {"action": "check", "pin": "975310"})
        assert response.context["check_form"].errors["pin"] == ["Wrong PIN. 4 attempts left before PIN use is locked."]
        assert "4 attempts left before PIN use is locked for 15 minutes." in response.content.decode()
        for _ in range(3):
            member_client.post(URL, {"action": "check", "pin": "975310"})
        locked = member_client.post(URL, {"action": "check", "pin": "975310"}, follow=True)
    body = locked.content.decode()
    assert "Too many wrong attempts: PIN use is locked. Try again in 15 minutes." in body
    assert 'data-testid="pin-locked"' in body
    with at(minutes=1, seconds=5):
        page = member_client.get(URL).content.decode()
        assert "Try again in 14 minutes." in page
        right_pin_while_locked = member_client.post(URL, {"action": "check", "pin": PIN}, follow=True)
    assert "Try again in 14 minutes." in right_pin_while_locked.content.decode()
    assert "That is your payment PIN." not in right_pin_while_locked.content.decode()
    with at(minutes=15):
        unlocked = member_client.post(URL, {"action": "check", "pin": PIN}, follow=True)
    assert "That is your payment PIN." in unlocked.content.decode()
    assert pin_row(member_with_pin)["failed_attempts"] == 0


def test_check_form_refuses_a_malformed_pin_without_counting(member_client, member_with_pin):
    response = member_client.post(URL, {"action": "check", "pin": "12"})
    assert response.context["check_form"].errors["pin"] == ["The PIN must be exactly 6 digits."]
    assert pin_row(member_with_pin)["failed_attempts"] == 0


def test_the_pin_page_never_echoes_a_pin(member_client, member_with_pin):
    response = member_client.post(URL, {"action": "check", "pin": "975310"})
    assert "975310" not in response.content.decode()


@pytest.mark.django_db
def test_pin_checks_refuse_to_run_inside_a_callers_transaction():
    """A failed attempt commits before the error is raised: inside a caller's transaction it
    could be rolled back and forgotten, so the checks own theirs (durable) and refuse."""
    member = MemberFactory()
    services.pin_set(user_id=member.pk, pin=PIN)
    with transaction.atomic():
        with pytest.raises(RuntimeError):
            services.pin_verify(user_id=member.pk, pin="000001")
        with pytest.raises(RuntimeError):
            services.pin_change(user_id=member.pk, password=PASSWORD, new_pin="135790")
    assert pin_row(member)["failed_attempts"] == 0
