"""One masking rule for phones and e-mail addresses, short and odd inputs included."""

from __future__ import annotations

import pytest

from pointsmall.kernel.masking import mask_contacts_in, mask_email, mask_name, mask_phone


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


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张**"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧**"),
        ("张", "*"),
        ("さくら", "さ**"),
        ("김민수", "김**"),
        ("alice", "a***e"),
        ("Alexander", "A***r"),
        ("bob", "b***b"),
        ("al", "a*"),
        ("a", "*"),
        ("  alice  ", "a***e"),
        ("Alice Smith", "A***h"),
        ("张alice", "张**"),
        ("alice张", "a***张"),
        ("😀bob", "****b"),
        ("bob😀", "b****"),
        ("👍🏽", "**"),
        ("😀", "*"),
        ("13812345678", "1***8"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_name_masks(name, masked):
    assert mask_name(name) == masked


def test_a_masked_name_hides_its_length():
    assert {mask_name("张三"), mask_name("张三丰"), mask_name("张三丰丰丰")} == {"张**"}
    assert {mask_name("a" + "b" * n + "e") for n in (1, 3, 30)} == {"a***e"}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("550 5.1.1 <alice@example.com>: no such user", "550 5.1.1 <al***@example.com>: no such user"),
        (
            "no member with the e-mail alice@example.com (nor 'bob.x@mail.cn'); 2 @ 3",
            "no member with the e-mail al***@example.com (nor 'bo***@mail.cn'); 2 @ 3",
        ),
        ("The 'To' number +8613812345678 is not valid", "The 'To' number +86*******5678 is not valid"),
        ("to 138 1234 5678 and 13812345678", "to 138****5678 and 138****5678"),
        # SMTP codes, dates, times, ids and short numbers are no phone numbers.
        ("451 4.7.1 try later at 2026-12-01 07:00:00, id 12345, 20261201", None),
        ("", None),
    ],
)
def test_contacts_in_a_text_are_masked_and_the_rest_kept(text, masked):
    assert mask_contacts_in(text) == (text if masked is None else masked)
