"""Pure rules: phone numbers, postal codes, PIN strength, lock countdown, invite codes, masking."""

from __future__ import annotations

from itertools import cycle

import pytest

from accounts import rules
from points import rules as points_rules
from pointsmall.kernel.masking import mask_email, mask_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("+49 151 2345 6789", "+4915123456789"),
        ("0049 (151) 2345.6789", "+4915123456789"),
        ("+12025550123", "+12025550123"),
        ("+85212345678", "+85212345678"),
    ],
)
def test_plausible_phones_are_normalised(raw, expected):
    assert rules.normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12812345678",  # second digit 2: not a mainland mobile
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+1234567",  # 7 digits after +
        "+1234567890123456",  # 16 digits after +
        "+86 12812345678",
        "tel:13812345678",
        "13812345678x",
        "＋8613812345678",  # full-width plus
        "8613812345678",  # country code without +
    ],
)
def test_implausible_phones_are_refused(raw):
    assert rules.normalize_phone(raw) is None


def test_phone_mask_keeps_the_ends():
    """The one masking rule (pointsmall.kernel.masking): a short number no longer shows whole."""
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+4915123456789") == "+49*******6789"
    assert mask_phone("+123456") == "*****56"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("310000", True), ("100080", True), ("31000", False), ("3100001", False), ("31000a", False), ("", False)],
)
def test_postal_code_is_six_digits(value, ok):
    assert rules.is_postal_code(value) is ok


@pytest.mark.parametrize(
    ("pin", "ok"),
    [
        ("135790", True),
        ("000000", True),
        ("12345", False),
        ("1234567", False),
        ("12345a", False),
        ("１２３４５６", False),
        ("", False),
        (" 13579", False),
    ],
)
def test_pin_format_is_exactly_six_ascii_digits(pin, ok):
    assert rules.is_pin_format(pin) is ok


@pytest.mark.parametrize(
    "pin", ["000000", "111111", "999999", "123456", "234567", "456789", "012345", "654321", "987654", "543210"]
)
def test_weak_pins(pin):
    assert rules.is_weak_pin(pin) is True


@pytest.mark.parametrize("pin", ["135790", "123457", "112233", "121212", "890123", "901234", "246810"])
def test_pins_that_are_not_trivially_weak(pin):
    assert rules.is_weak_pin(pin) is False


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(900, 15), (899, 15), (841, 15), (840, 14), (61, 2), (60, 1), (1, 1), (0.2, 1)]
)
def test_lock_countdown_rounds_up_to_whole_minutes(seconds, minutes):
    assert rules.minutes_left(seconds) == minutes


def test_a_new_invite_code_is_eight_unambiguous_characters():
    letters = cycle("AB2Z9")
    code = rules.new_invite_code(lambda alphabet: next(letters))
    assert code == "AB2Z9AB2"
    assert rules.is_invite_code(code) is True


def test_the_invite_alphabet_leaves_out_characters_people_confuse():
    assert set("01IO") & set(rules.INVITE_CODE_ALPHABET) == set()
    assert len(rules.INVITE_CODE_ALPHABET) == 32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("abcd2345", "ABCD2345"), (" ABCD-2345 ", "ABCD2345"), ("abcd\u30002345", "ABCD2345")],
)
def test_typed_invite_codes_are_normalised(raw, expected):
    assert rules.normalize_invite_code(raw) == expected


@pytest.mark.parametrize("code", ["ABCD234", "ABCD23456", "ABCD2340", "ABCDO234", "ABCD234I", "abcd2345", ""])
def test_invite_codes_outside_the_alphabet_or_length_are_not_codes(code):
    assert rules.is_invite_code(code) is False


@pytest.mark.parametrize(
    ("email", "masked"),
    [("alice@example.com", "al***@example.com"), ("a@b.cn", "***@b.cn"), ("no-at-sign", "no***")],
)
def test_email_mask_keeps_two_letters_and_the_domain(email, masked):
    """Never the whole local part (pointsmall.kernel.masking): a one-letter one is all stars."""
    assert mask_email(email) == masked


def test_the_one_identity_hash_ignores_case_and_spaces_and_depends_on_the_secret():
    """Referrals and the sign-up bonus share the ledger's identity hash (points.rules)."""
    assert points_rules.identity_hash(" email:Alice@Example.com ", "s1") == points_rules.identity_hash(
        "email:alice@example.com", "s1"
    )
    assert points_rules.identity_hash("email:alice@example.com", "s1") != points_rules.identity_hash(
        "email:alice@example.com", "s2"
    )
    assert len(points_rules.identity_hash("email:alice@example.com", "s1")) == 64
