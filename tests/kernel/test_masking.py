"""One masking rule for phones and e-mail addresses, short and odd inputs included."""

from __future__ import annotations

import pytest

from pointsmall.kernel.masking import mask_email, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+4915123456789", "+49*******6789"),
        ("+8613812345678", "+86*******5678"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+12345678", "*****5678"),
        ("1234567890", "******7890"),
        ("12345678", "****5678"),
        ("+123456", "*****56"),
        ("123456", "****56"),
        ("12345", "*****"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_phone_masks(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("phone", ["13812345678", "+4915123456789", "+12345678", "1234567", "123456", "12345", "1"])
def test_a_phone_mask_always_hides_at_least_four_characters_or_all_of_a_short_one(phone):
    hidden = mask_phone(phone).count("*")
    assert hidden >= min(4, len(phone))
    assert len(mask_phone(phone)) == len(phone)


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("alice@example.com", "al***@example.com"),
        ("bob@example.org", "bo***@example.org"),
        ("ab@example.org", "a***@example.org"),
        ("a@b.cn", "***@b.cn"),
        ("@example.com", "***@example.com"),
        ("no-at-sign", "no***"),
        ("x", "***"),
        ("", ""),
    ],
)
def test_email_masks(email, masked):
    assert mask_email(email) == masked
