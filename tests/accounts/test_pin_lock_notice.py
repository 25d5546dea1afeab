"""Issue #17: a payment PIN locked after too many wrong entries sends a security notice, once per
lock, to the inbox and by e-mail as the member's preferences for account messages say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import translation

from accounts import services
from accounts.exceptions import PasswordIncorrectError, PinIncorrectError, PinLockedError
from accounts.models import Delivery, Notification
from accounts.notices import PIN_LOCKED

PIN = "135790"
T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture
def member_with_pin(member):
    services.pin_set(user_id=member.pk, pin=PIN)
    return member


def wrong(user, times: int) -> None:
    for _ in range(times):
        with pytest.raises((PinIncorrectError, PinLockedError)):
            services.pin_verify(user_id=user.pk, pin="000001")


def notices(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, message_code=PIN_LOCKED).order_by("pk"))


def test_wrong_pins_below_the_limit_send_nothing(member_with_pin):
    wrong(member_with_pin, 4)
    assert notices(member_with_pin) == []


def test_the_lock_sends_one_notice_to_the_inbox_and_by_e_mail(member_with_pin, mailoutbox):
    with time_machine.travel(T0, tick=False):
        wrong(member_with_pin, 5)
    [notice] = notices(member_with_pin)
    assert (notice.kind, notice.in_inbox, notice.link) == ("account", True, "/me/pin/")
    assert notice.params == {"attempts": 5, "locked_until": (T0 + timedelta(minutes=15)).isoformat()}
    [delivery] = Delivery.objects.filter(notification=notice)
    assert delivery.channel == "email"
    services.delivery_send(delivery_id=delivery.pk)
    assert [message.to for message in mailoutbox] == [[member_with_pin.email]]
    with translation.override("en"):
        assert "payment PIN is locked" in mailoutbox[0].subject


def test_attempts_while_locked_send_no_second_notice_but_the_next_lock_does(member_with_pin):
    with time_machine.travel(T0, tick=False):
        wrong(member_with_pin, 5)
        with pytest.raises(PinLockedError):
            services.pin_verify(user_id=member_with_pin.pk, pin=PIN)
        wrong(member_with_pin, 3)
    assert len(notices(member_with_pin)) == 1
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        wrong(member_with_pin, 5)
    assert len(notices(member_with_pin)) == 2


def test_with_account_e_mail_switched_off_the_notice_stays_in_the_inbox(member_with_pin):
    services.notification_preferences_set(user_id=member_with_pin.pk, choices={"account": {"email": False}})
    wrong(member_with_pin, 5)
    [notice] = notices(member_with_pin)
    assert notice.in_inbox
    assert not Delivery.objects.filter(notification=notice).exists()


def test_a_lock_by_wrong_passwords_on_the_change_form_sends_the_notice_too(member_with_pin):
    # A wrong account password on the PIN change form counts like a wrong PIN (services.pin_change).
    for _ in range(5):
        with pytest.raises((PasswordIncorrectError, PinLockedError)):
            services.pin_change(user_id=member_with_pin.pk, password="wrong-password", new_pin="246813")
    assert len(notices(member_with_pin)) == 1
