"""One text rule for every field a member types (accounts.rules.clean_member_text): direction
overrides and control characters are refused with a clear message, invisible characters are
removed, whitespace is tidied. Each member form is fed the same hostile and clean values."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import rules, services
from accounts.admin import MemberChangeForm
from accounts.exceptions import InvalidTextError
from accounts.forms import AddressForm, PhoneCodeForm, ProfileForm
from accounts.models import Address, User
from catalog.forms import CatalogFilterForm, InlineAddressForm, ReviewForm
from tests.factories import MemberFactory

REFUSED = InvalidTextError.default_message
RLO, LRI, PDI = "\u202e", "\u2066", "\u2069"
ZWSP, ZWJ, BOM = "\u200b", "\u200d", "\ufeff"

# (value typed, what is stored, or REFUSED)
HOSTILE_AND_CLEAN = [
    pytest.param(f"Alice{RLO}gpj.exe", REFUSED, id="right-to-left-override"),
    pytest.param(f"{LRI}Alice{PDI}", REFUSED, id="isolate"),
    pytest.param(f"Ali{ZWSP}ce", "Alice", id="zero-width-space"),
    pytest.param(f"Ali{ZWJ}ce", "Alice", id="zero-width-joiner"),
    pytest.param(f"{BOM}Alice", "Alice", id="byte-order-mark"),
    pytest.param("Ali\x07ce", REFUSED, id="bell-control"),
    pytest.param("Ali\x1bce", REFUSED, id="escape-control"),
    pytest.param("Ali\x9bce", REFUSED, id="c1-control"),
    pytest.param("王小明 Alice", "王小明 Alice", id="clean-chinese-english"),
    pytest.param("  浙江\u3000杭州  ", "浙江 杭州", id="ideographic-space"),
]


def outcome(form, field: str):
    """What the form made of ``field``: the stored value, or REFUSED with exactly our message."""
    valid = form.is_valid()
    if field in form.errors:
        assert form.errors[field] == [REFUSED]
        return REFUSED
    assert valid, form.errors
    return form.cleaned_data[field]


ADDRESS = {
    "recipient": "李雷",
    "phone": "13812345678",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路 90 号 3 幢",
    "postal_code": "310000",
}


# ---------- the rule ----------


@pytest.mark.parametrize(("raw", "expected"), [(p.values[0], p.values[1]) for p in HOSTILE_AND_CLEAN])
def test_the_rule_on_its_own(raw, expected):
    if expected is REFUSED:
        with pytest.raises(rules.UnsafeTextError):
            rules.clean_member_text(raw)
    else:
        assert rules.clean_member_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cafe\u0301", "Café"),  # NFC: one é, however it was typed
        ("a\u00adb\u2060c\u034fd", "abcd"),  # soft hyphen, word joiner, grapheme joiner
        ("\u200eAlice\u200f", "Alice"),  # direction marks are removed, not refused
        ("\u3164\u115f", ""),  # Hangul fillers: a "blank" name is an empty one
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # the joiner inside an emoji family stays
        ("❤\ufe0f ok", "❤\ufe0f ok"),  # an emoji presentation selector after its base stays
        ("\ufe0fx", "x"),  # ... but not on its own
        (
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        ),
        ("x\U000e0067", "x"),  # a tag character outside a flag
        ("a\tb\nc\r\nd\u2028e", "a b c d e"),  # single line: breaks are spaces
    ],
)
def test_invisible_characters_go_and_meaningful_ones_stay(raw, expected):
    assert rules.clean_member_text(raw) == expected


def test_multiline_text_keeps_paragraphs_and_at_most_one_blank_line():
    raw = "  Great umbrella!  \r\n\r\n\r\n\r\nSturdy,\u2029light\x85and dry.\t\t "
    assert rules.clean_member_text(raw, multiline=True) == "Great umbrella!\n\nSturdy,\nlight\nand dry."


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x7f", "\ud800", RLO, "\u202a", "\u202b", "\u202c", "\u202d"])
def test_refused_characters(char):
    with pytest.raises(rules.UnsafeTextError) as refused:
        rules.clean_member_text(f"a{char}b", multiline=True)
    assert refused.value.char == char


def test_strip_invisible_keeps_only_what_can_be_seen():
    assert rules.strip_invisible(f"{RLO}138{ZWSP} 1234\x00 5678{BOM}\u200e") == "138 1234 5678"


# ---------- every member form ----------


@pytest.mark.parametrize(("raw", "expected"), HOSTILE_AND_CLEAN)
def test_profile_display_name(member, raw, expected):
    form = ProfileForm(data={"display_name": raw, "phone": "", "language": "en"}, user_id=member.pk)
    assert outcome(form, "display_name") == expected


# The region (province / city / district) is chosen from the division data (accounts.regions): a
# value outside it is refused whatever its characters (tests/accounts/test_address_form.py), and
# one with a refused character gets the text rule's message like any other field.
@pytest.mark.parametrize("field", ["recipient", "detail"])
@pytest.mark.parametrize(("raw", "expected"), HOSTILE_AND_CLEAN)
def test_address_book_form(field, raw, expected):
    assert outcome(AddressForm(data=ADDRESS | {field: raw}), field) == expected


@pytest.mark.parametrize("field", ["recipient", "detail"])
@pytest.mark.parametrize(("raw", "expected"), HOSTILE_AND_CLEAN)
def test_product_page_address_form(field, raw, expected):
    assert outcome(InlineAddressForm(data=ADDRESS | {"quantity": 1, field: raw}), field) == expected


@pytest.mark.parametrize("field", ["province", "city", "district"])
def test_a_region_with_a_refused_character_gets_the_text_message(field):
    form = AddressForm(data=ADDRESS | {field: f"杭州{RLO}市"})
    assert form.errors[field] == [REFUSED]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE_AND_CLEAN)
def test_review_text(raw, expected):
    assert outcome(ReviewForm(data={"rating": 5, "text": raw}), "text") == expected


def test_review_text_keeps_its_paragraphs():
    form = ReviewForm(data={"rating": 5, "text": f"好用！{ZWSP}\r\n\r\nWorks well."})
    assert form.is_valid()
    assert form.cleaned_data["text"] == "好用！\n\nWorks well."


def test_a_review_of_only_invisible_characters_is_empty():
    form = ReviewForm(data={"rating": 5, "text": f"{ZWSP}{BOM} {ZWJ}"})
    assert form.errors["text"] == ["Write a few words about the item."]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE_AND_CLEAN)
def test_admin_display_name(member, raw, expected):
    form = MemberChangeForm(instance=member, data={"email": member.email, "display_name": raw, "language": "en"})
    form.is_valid()
    if expected is REFUSED:
        assert form.errors["display_name"] == [REFUSED]
    else:
        assert "display_name" not in form.errors
        assert form.cleaned_data["display_name"] == expected


# Fields whose value must then match a strict format: invisible characters are dropped, never refused.
@pytest.mark.parametrize(
    "noise", [RLO, LRI, PDI, ZWSP, ZWJ, BOM, "\x07"], ids=["rlo", "lri", "pdi", "zwsp", "zwj", "bom", "control"]
)
def test_format_checked_fields_drop_the_noise(member, noise):
    assert outcome(AddressForm(data=ADDRESS | {"phone": f"{noise}138 1234 5678{noise}"}), "phone") == "13812345678"
    assert outcome(AddressForm(data=ADDRESS | {"postal_code": f"310{noise}000"}), "postal_code") == "310000"
    form = ProfileForm(data={"display_name": "", "phone": f"+86{noise}13812345678", "language": "en"}, user_id=1)
    assert outcome(form, "phone") == "13812345678"
    assert outcome(PhoneCodeForm(data={"code": f"12{noise}34 56"}), "code") == "123456"
    search = CatalogFilterForm(data={"q": f"雨伞{noise}  umbrella{noise}"}, categories=[])
    assert outcome(search, "q") == "雨伞 umbrella"


def test_a_clean_search_is_kept():
    assert outcome(CatalogFilterForm(data={"q": "雨伞 umbrella"}, categories=[]), "q") == "雨伞 umbrella"


# ---------- the pages and services behind them ----------


def test_an_address_with_an_override_is_refused_on_the_page_and_nothing_is_saved(member_client, member):
    response = member_client.post(reverse("address_create"), ADDRESS | {"detail": f"文三路{RLO}号09"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"detail": [REFUSED]}
    assert Address.objects.filter(user=member).count() == 0


def test_an_address_with_zero_width_characters_is_saved_without_them(member_client, member):
    response = member_client.post(reverse("address_create"), ADDRESS | {"recipient": f"李{ZWSP}雷{BOM}"})
    assert response.status_code == 302
    assert Address.objects.get(user=member).recipient == "李雷"


def test_the_address_service_applies_the_rule_too(member):
    with pytest.raises(InvalidTextError):
        services.address_create(user_id=member.pk, **(ADDRESS | {"city": f"杭州{RLO}"}))
    assert Address.objects.filter(user=member).count() == 0
    saved = services.address_create(user_id=member.pk, **(ADDRESS | {"city": f" 杭州{ZWSP}市 "}))
    assert saved.city == "杭州市"
    with pytest.raises(InvalidTextError):
        services.address_update(user_id=member.pk, address_id=saved.id, **(ADDRESS | {"detail": "a\x07b"}))
    assert Address.objects.get(pk=saved.id).detail == "文三路 90 号 3 幢"


def test_the_profile_service_applies_the_rule_too(member):
    with pytest.raises(InvalidTextError):
        services.profile_update(user_id=member.pk, display_name=f"Bob{RLO}", phone=None, language="en")
    member.refresh_from_db()
    assert member.display_name == ""
    services.profile_update(user_id=member.pk, display_name=f"B{ZWSP}ob  王", phone=None, language="en")
    member.refresh_from_db()
    assert member.display_name == "Bob 王"


def test_the_profile_page_refuses_an_override_in_the_name(member_client, member):
    response = member_client.post(reverse("profile"), {"display_name": f"Bob{RLO}", "phone": "", "language": "en"})
    assert response.context["form"].errors == {"display_name": [REFUSED]}
    member.refresh_from_db()
    assert member.display_name == ""


def test_sign_up_refuses_an_override_in_the_email_and_drops_zero_width_characters(client, db):
    data = {"password1": "plum-Orchard-walks-42", "password2": "plum-Orchard-walks-42"}
    refused = client.post(reverse("account_signup"), data | {"email": f"eve@exa{RLO}mple.com"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["email"] == [REFUSED]
    assert User.objects.count() == 0
    client.post(reverse("account_signup"), data | {"email": f"eve@exam{ZWSP}ple.com"})
    assert list(User.objects.values_list("email", flat=True)) == ["eve@example.com"]


def test_an_invite_code_pasted_with_invisible_characters_works(client, db):
    inviter = MemberFactory()
    code = inviter.invite_code.code
    data = {"email": "pal@example.com", "password1": "plum-Orchard-walks-42", "password2": "plum-Orchard-walks-42"}
    response = client.post(reverse("account_signup"), data | {"invite_code": f"{BOM}{code[:4]}{ZWSP}{code[4:]}{RLO}"})
    assert response.status_code == 302
    assert User.objects.get(email="pal@example.com").referral.inviter_id == inviter.pk
