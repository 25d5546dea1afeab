"""The payment PIN's own hash (docs/decisions/0042): HMAC-SHA256 under a pepper outside the database,
per-PIN salt, pepper rotation, and the PBKDF2 hashes of before rewritten on the next correct PIN."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from accounts import services
from accounts.checks import payment_pin_peppers_check
from accounts.exceptions import PinIncorrectError, PinLockedError
from accounts.models import PaymentPin
from accounts.pin_hash import pin_hash_check, pin_hash_make
from pointsmall.kernel.keyed_hash import development_key, keyring_parse
from tests.factories import PASSWORD
from tests.processes import settings_load_error

PIN = "135790"
WRONG_PIN = "246813"
PEPPER_1 = "first-pepper-" + "a1B2c3D4e5F6g7H8i9J0" * 2
PEPPER_2 = "second-pepper-" + "k1L2m3N4o5P6q7R8s9T0" * 2
NEW_FORMAT = re.compile(
    r"pin-hmac-sha256\$(?P<pepper>[A-Za-z0-9_-]+)\$(?P<salt>[A-Za-z0-9_-]{16})\$(?P<digest>[0-9a-f]{64})"
)
DJANGO_DEFAULT_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]


@pytest.fixture
def peppers(settings):
    """Pepper 1 is current; a test rotates by assigning settings.PAYMENT_PIN_PEPPERS again."""
    settings.PAYMENT_PIN_PEPPERS = {"1": PEPPER_1}
    return settings


@pytest.fixture
def production_hashers(settings):
    # The PBKDF2 hashes of before were written by Django's default hashers (tests/conftest.py
    # swaps in MD5 for speed); the legacy check identifies a hash by the configured hashers.
    settings.PASSWORD_HASHERS = DJANGO_DEFAULT_HASHERS
    return settings


def stored(member) -> dict:
    return PaymentPin.objects.filter(user=member).values("pin_hash", "failed_attempts", "locked_until").get()


def pbkdf2_hash(pin: str) -> str:
    """A real pbkdf2_sha256 hash as make_password wrote it, with few iterations (they are stored in the hash)."""
    return PBKDF2PasswordHasher().encode(pin, "legacysalt123456", iterations=1000)


# ---------- the format ----------


def test_a_new_pin_is_stored_in_the_keyed_format_under_the_current_pepper(member, peppers):
    services.pin_set(user_id=member.pk, pin=PIN)
    found = NEW_FORMAT.fullmatch(stored(member)["pin_hash"])
    assert found is not None
    assert found["pepper"] == "1"
    expected = hmac.new(
        hashlib.sha256(b"accounts.payment_pin" + PEPPER_1.encode()).digest(),
        f"{member.pk}:{found['salt']}:{PIN}".encode(),
        hashlib.sha256,
    ).hexdigest()
    assert found["digest"] == expected


def test_the_same_pin_hashes_differently_for_two_members_and_each_time(member, other_member, peppers):
    services.pin_set(user_id=member.pk, pin=PIN)
    services.pin_set(user_id=other_member.pk, pin=PIN)
    assert stored(member)["pin_hash"] != stored(other_member)["pin_hash"]
    assert pin_hash_make(user_id=member.pk, pin=PIN) != pin_hash_make(user_id=member.pk, pin=PIN)


def test_a_changed_pin_is_stored_under_the_current_pepper(member, peppers):
    services.pin_set(user_id=member.pk, pin=PIN)
    peppers.PAYMENT_PIN_PEPPERS = {"2": PEPPER_2, "1": PEPPER_1}
    services.pin_change(user_id=member.pk, password=PASSWORD, new_pin=WRONG_PIN)
    assert NEW_FORMAT.fullmatch(stored(member)["pin_hash"])["pepper"] == "2"
    services.pin_verify(user_id=member.pk, pin=WRONG_PIN)


def test_the_scheme_does_not_depend_on_password_hashers(member, peppers, production_hashers):
    services.pin_set(user_id=member.pk, pin=PIN)
    assert NEW_FORMAT.fullmatch(stored(member)["pin_hash"])
    production_hashers.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    services.pin_verify(user_id=member.pk, pin=PIN)


# ---------- hashes of before: PBKDF2 ----------


def test_a_pbkdf2_hash_verifies_and_is_rewritten_on_the_right_pin(member, peppers, production_hashers):
    PaymentPin.objects.create(user=member, pin_hash=pbkdf2_hash(PIN), failed_attempts=2)
    services.pin_verify(user_id=member.pk, pin=PIN)
    after = stored(member)
    assert NEW_FORMAT.fullmatch(after["pin_hash"])["pepper"] == "1"
    assert (after["failed_attempts"], after["locked_until"]) == (0, None)
    # The rewritten hash is the same PIN, and only that one.
    services.pin_verify(user_id=member.pk, pin=PIN)
    with pytest.raises(PinIncorrectError):
        services.pin_verify(user_id=member.pk, pin=WRONG_PIN)


def test_a_wrong_pin_leaves_a_pbkdf2_hash_as_it_was_and_counts(member, peppers, production_hashers):
    legacy = pbkdf2_hash(PIN)
    PaymentPin.objects.create(user=member, pin_hash=legacy)
    with pytest.raises(PinIncorrectError) as raised:
        services.pin_verify(user_id=member.pk, pin=WRONG_PIN)
    assert raised.value.attempts_left == 4
    assert stored(member) == {"pin_hash": legacy, "failed_attempts": 1, "locked_until": None}


def test_five_wrong_pins_lock_a_pbkdf2_hash_and_leave_it_as_it_was(member, peppers, production_hashers):
    legacy = pbkdf2_hash(PIN)
    PaymentPin.objects.create(user=member, pin_hash=legacy)
    for _ in range(4):
        with pytest.raises(PinIncorrectError):
            services.pin_verify(user_id=member.pk, pin=WRONG_PIN)
    with pytest.raises(PinLockedError):
        services.pin_verify(user_id=member.pk, pin=WRONG_PIN)
    with pytest.raises(PinLockedError):
        services.pin_verify(user_id=member.pk, pin=PIN)
    after = stored(member)
    assert (after["pin_hash"], after["failed_attempts"]) == (legacy, 5)
    assert after["locked_until"] is not None


# ---------- pepper rotation ----------


def test_a_hash_under_a_rotated_out_pepper_verifies_while_configured_and_is_rewritten(member, peppers):
    services.pin_set(user_id=member.pk, pin=PIN)
    old = stored(member)["pin_hash"]
    peppers.PAYMENT_PIN_PEPPERS = {"2": PEPPER_2, "1": PEPPER_1}

    with pytest.raises(PinIncorrectError):
        services.pin_verify(user_id=member.pk, pin=WRONG_PIN)
    assert stored(member)["pin_hash"] == old  # a wrong PIN rewrites nothing

    services.pin_verify(user_id=member.pk, pin=PIN)
    assert NEW_FORMAT.fullmatch(stored(member)["pin_hash"])["pepper"] == "2"
    assert stored(member)["failed_attempts"] == 0
    # Once rewritten, the old pepper can go.
    peppers.PAYMENT_PIN_PEPPERS = {"2": PEPPER_2}
    services.pin_verify(user_id=member.pk, pin=PIN)


def test_a_hash_under_the_current_pepper_is_not_rewritten(member, peppers):
    services.pin_set(user_id=member.pk, pin=PIN)
    before = stored(member)["pin_hash"]
    services.pin_verify(user_id=member.pk, pin=PIN)
    assert stored(member)["pin_hash"] == before


def test_a_hash_under_a_removed_pepper_verifies_no_pin_and_says_why(member, peppers, caplog):
    services.pin_set(user_id=member.pk, pin=PIN)
    before = stored(member)["pin_hash"]
    peppers.PAYMENT_PIN_PEPPERS = {"2": PEPPER_2}
    with pytest.raises(PinIncorrectError) as raised:
        services.pin_verify(user_id=member.pk, pin=PIN)
    assert raised.value.attempts_left == 4
    assert stored(member) == {"pin_hash": before, "failed_attempts": 1, "locked_until": None}
    assert any("pepper '1', not configured" in record.getMessage() for record in caplog.records)


def test_a_hash_does_not_verify_under_another_pepper_with_the_same_id(member, peppers):
    services.pin_set(user_id=member.pk, pin=PIN)
    peppers.PAYMENT_PIN_PEPPERS = {"1": PEPPER_2}
    with pytest.raises(PinIncorrectError):
        services.pin_verify(user_id=member.pk, pin=PIN)


def test_the_stored_value_alone_gives_no_way_to_check_a_pin(member, peppers):
    """What a database dump holds: the stored value. Without the pepper, none of the keys an attacker
    would try first (the secret key, no key, the development default) reproduces it for the right PIN."""
    services.pin_set(user_id=member.pk, pin=PIN)
    value = stored(member)["pin_hash"]
    found = NEW_FORMAT.fullmatch(value)
    guesses = ["", django_settings.SECRET_KEY, development_key("PAYMENT_PIN_PEPPERS", django_settings.SECRET_KEY)]
    for guess in guesses:
        peppers.PAYMENT_PIN_PEPPERS = {"1": guess}
        assert pin_hash_check(user_id=member.pk, pin=PIN, stored=value).matches is False
    message = f"{member.pk}:{found['salt']}:{PIN}".encode()
    assert found["digest"] not in {hashlib.sha256(message).hexdigest(), hashlib.sha256(PIN.encode()).hexdigest()}


def test_a_hash_copied_into_another_members_row_does_not_verify_there(member, other_member, peppers):
    services.pin_set(user_id=member.pk, pin=PIN)
    PaymentPin.objects.create(user=other_member, pin_hash=stored(member)["pin_hash"])
    with pytest.raises(PinIncorrectError):
        services.pin_verify(user_id=other_member.pk, pin=PIN)


# ---------- bad stored values fail closed ----------


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "pin-hmac-sha256$",
        "pin-hmac-sha256$1$saltsaltsaltsalt",
        "pin-hmac-sha256$1$saltsaltsaltsalt$not-hex",
        "pin-hmac-sha256$1$salt$" + "0" * 64 + "$extra",
        "pbkdf2_sha256$not-a-number$salt$hash",
        "pbkdf2_sha256$1000",
        "argon2$argon2id$garbage",
        "!unusable",
        "135790",
    ],
)
def test_a_malformed_stored_value_refuses_the_pin_and_counts(member, peppers, production_hashers, bad):
    PaymentPin.objects.create(user=member, pin_hash=bad)
    with pytest.raises(PinIncorrectError) as raised:
        services.pin_verify(user_id=member.pk, pin=PIN)
    assert raised.value.attempts_left == 4
    assert stored(member) == {"pin_hash": bad, "failed_attempts": 1, "locked_until": None}


def test_a_malformed_stored_value_on_the_check_page_is_an_error_message_not_a_500(
    member_client, member, peppers, production_hashers
):
    PaymentPin.objects.create(user=member, pin_hash="pbkdf2_sha256$not-a-number$salt$hash")
    response = member_client.post(reverse("pin_manage"), {"action": "check", "pin": PIN})
    assert response.status_code == 200
    assert response.context["check_form"].errors["pin"] == ["Wrong PIN. 4 attempts left before PIN use is locked."]
    assert stored(member)["failed_attempts"] == 1


# ---------- the setting and its deploy check ----------


def test_the_peppers_setting_reads_ids_in_order_and_refuses_what_it_cannot_read():
    assert list(keyring_parse("2:bbb, 1:a:a", setting="X").items()) == [("2", "bbb"), ("1", "a:a")]
    for bad in ["", "secret-without-id", ":secret", "1:", "1:a,1:b", "a$b:secret", "x" * 17 + ":secret"]:
        with pytest.raises(ImproperlyConfigured, match=r"^X: "):
            keyring_parse(bad, setting="X")


def test_production_settings_refuse_to_load_without_a_pepper():
    refusal = settings_load_error(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50, PAYMENT_PIN_PEPPERS=None)
    assert "Set the PAYMENT_PIN_PEPPERS environment variable" in refusal


def check_ids() -> list[str]:
    return [message.id for message in payment_pin_peppers_check()]


def test_the_deploy_check_passes_a_pepper_of_its_own(peppers):
    peppers.PAYMENT_PIN_PEPPERS = {"2": PEPPER_2, "1": PEPPER_1}
    assert check_ids() == []


@pytest.mark.parametrize("kind", ["secret key", "fallback key", "development default", "integration key"])
def test_the_deploy_check_warns_of_a_pepper_that_is_not_its_own(peppers, kind):
    peppers.SECRET_KEY_FALLBACKS = ["an-old-secret-key-" + "z" * 40]
    peppers.INTEGRATION_SECRETS_KEY = "the-integration-key-" + "y" * 40
    pepper = {
        "secret key": peppers.SECRET_KEY,
        "fallback key": peppers.SECRET_KEY_FALLBACKS[0],
        "development default": development_key("PAYMENT_PIN_PEPPERS", peppers.SECRET_KEY),
        "integration key": peppers.INTEGRATION_SECRETS_KEY,
    }[kind]
    peppers.PAYMENT_PIN_PEPPERS = {"2": PEPPER_2, "1": pepper}
    assert check_ids() == ["accounts.W001"]


@pytest.mark.parametrize("pepper", ["short-pepper", "ab" * 40])
def test_the_deploy_check_warns_of_a_weak_pepper(peppers, pepper):
    peppers.PAYMENT_PIN_PEPPERS = {"1": pepper}
    assert check_ids() == ["accounts.W002"]
