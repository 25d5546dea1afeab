"""The address book: services, selectors and pages. Nobody ever reaches another member's address."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts import selectors, services
from accounts.exceptions import AddressLimitReachedError, AddressNotFoundError, InvalidPhoneError
from accounts.models import Address

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


def fields(**overrides) -> dict:
    return {
        "recipient": "王小明",
        "phone": "13812345678",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 90 号 3 幢 501 室",
        "postal_code": "310000",
    } | overrides


def add(user, minutes: int = 0, **overrides):
    with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
        return services.address_create(user_id=user.pk, **fields(**overrides))


def book(user) -> list[tuple[str, bool]]:
    return list(Address.objects.filter(user=user).order_by("pk").values_list("recipient", "is_default"))


def rows(user) -> list[dict]:
    return list(Address.objects.filter(user=user).order_by("pk").values())


# ---------- services and selectors ----------


def test_the_first_address_becomes_the_default(member):
    created = add(member, is_default=False)
    assert created.is_default is True
    assert book(member) == [("王小明", True)]


def test_a_new_default_takes_over_from_the_old_one(member):
    add(member, 0, recipient="A")
    add(member, 1, recipient="B")
    add(member, 2, recipient="C", is_default=True)
    assert book(member) == [("A", False), ("B", False), ("C", True)]


def test_create_normalises_phone_and_strips_text(member):
    created = add(member, recipient="  Li Lei ", phone="+86 139 1234 5678", detail=" Room 1 ")
    assert (created.recipient, created.phone, created.detail) == ("Li Lei", "13912345678", "Room 1")


def test_create_refuses_an_implausible_phone_and_writes_nothing(member):
    with pytest.raises(InvalidPhoneError):
        add(member, phone="12345")
    assert book(member) == []


def test_the_twentieth_address_is_the_last(member):
    for i in range(20):
        add(member, i, recipient=f"R{i}")
    with pytest.raises(AddressLimitReachedError) as refused:
        add(member, 21, recipient="one too many")
    assert refused.value.message == "You can keep at most 20 addresses. Delete one you no longer use to add another."
    assert Address.objects.filter(user=member).count() == 20
    assert not Address.objects.filter(recipient="one too many").exists()


def test_the_cap_is_per_member(member, other_member):
    for i in range(20):
        add(other_member, i)
    add(member)
    assert Address.objects.filter(user=member).count() == 1


def test_deleting_the_default_promotes_the_most_recent_remaining(member):
    a = add(member, 0, recipient="A")
    add(member, 1, recipient="B")
    add(member, 5, recipient="C")
    add(member, 3, recipient="D")
    services.address_delete(user_id=member.pk, address_id=a.id)
    assert book(member) == [("B", False), ("C", True), ("D", False)]


def test_deleting_another_address_keeps_the_default(member):
    add(member, 0, recipient="A")
    b = add(member, 1, recipient="B")
    services.address_delete(user_id=member.pk, address_id=b.id)
    assert book(member) == [("A", True)]


def test_deleting_the_last_address_leaves_an_empty_book(member):
    a = add(member)
    services.address_delete(user_id=member.pk, address_id=a.id)
    assert book(member) == []


def test_set_default_moves_the_default_and_is_safe_twice(member):
    add(member, 0, recipient="A")
    b = add(member, 1, recipient="B")
    services.address_set_default(user_id=member.pk, address_id=b.id)
    services.address_set_default(user_id=member.pk, address_id=b.id)
    assert book(member) == [("A", False), ("B", True)]


def test_update_changes_fields_and_can_take_the_default(member):
    add(member, 0, recipient="A")
    b = add(member, 1, recipient="B")
    updated = services.address_update(
        user_id=member.pk, address_id=b.id, is_default=True, **fields(recipient="B2", postal_code="")
    )
    assert (updated.recipient, updated.postal_code, updated.is_default) == ("B2", "", True)
    assert book(member) == [("A", False), ("B2", True)]


def test_unticking_default_on_the_default_keeps_it_the_default(member):
    a = add(member, 0, recipient="A")
    add(member, 1, recipient="B")
    services.address_update(user_id=member.pk, address_id=a.id, is_default=False, **fields(recipient="A2"))
    assert book(member) == [("A2", True), ("B", False)]


def test_the_database_refuses_two_defaults_for_one_member(member):
    add(member, 0, recipient="A")
    b = add(member, 1, recipient="B")
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.filter(pk=b.id).update(is_default=True)
    assert book(member) == [("A", True), ("B", False)]


def test_two_members_each_have_their_own_default(member, other_member):
    add(member)
    add(other_member)
    assert Address.objects.filter(is_default=True).count() == 2


def test_address_list_puts_the_default_first_then_newest(member):
    add(member, 0, recipient="A")
    add(member, 1, recipient="B")
    add(member, 2, recipient="C")
    assert [a.recipient for a in selectors.address_list(user_id=member.pk)] == ["A", "C", "B"]


def test_address_get_returns_a_frozen_snapshot_for_orders(member):
    created = add(member)
    address = selectors.address_get(user_id=member.pk, address_id=created.id)
    assert asdict(address) == {
        "id": created.id,
        "user_id": member.pk,
        "recipient": "王小明",
        "phone": "13812345678",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 90 号 3 幢 501 室",
        "postal_code": "310000",
        "is_default": True,
        "created_at": T0,
    }
    assert address.region == "浙江省 杭州市 西湖区"
    assert address.full_address == "浙江省 杭州市 西湖区 文三路 90 号 3 幢 501 室 (310000)"
    assert address.phone_masked == "138****5678"
    with pytest.raises(FrozenInstanceError):
        address.recipient = "someone else"  # type: ignore[misc]


def test_services_and_selectors_refuse_another_members_address(member, other_member):
    theirs = add(other_member, recipient="Theirs")
    before = rows(other_member)
    with pytest.raises(AddressNotFoundError):
        selectors.address_get(user_id=member.pk, address_id=theirs.id)
    with pytest.raises(AddressNotFoundError):
        services.address_update(user_id=member.pk, address_id=theirs.id, **fields(recipient="Mine now"))
    with pytest.raises(AddressNotFoundError):
        services.address_delete(user_id=member.pk, address_id=theirs.id)
    with pytest.raises(AddressNotFoundError):
        services.address_set_default(user_id=member.pk, address_id=theirs.id)
    assert rows(other_member) == before
    assert book(member) == []


# ---------- pages ----------


def test_address_pages_require_login(client, member):
    mine = add(member)
    for url in [
        reverse("address_list"),
        reverse("address_create"),
        reverse("address_update", args=[mine.id]),
        reverse("address_delete", args=[mine.id]),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    response = client.post(reverse("address_set_default", args=[mine.id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_list_shows_the_members_addresses_default_first(member_client, member, other_member):
    add(member, 0, recipient="Alice Home")
    add(member, 1, recipient="Alice Office", phone="+4915123456789")
    add(other_member, 0, recipient="Bob Secret")
    response = member_client.get(reverse("address_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-testid="address-item"') == 2
    assert body.index("Alice Home") < body.index("Alice Office")
    assert "138****5678" in body
    assert "+49*******6789" in body
    assert "Bob Secret" not in body
    assert "2 of 20 addresses" in body
    assert body.count('data-testid="address-default-badge"') == 1


def test_empty_list_invites_to_add_one(member_client):
    body = member_client.get(reverse("address_list")).content.decode()
    assert "No shipping address yet." in body
    assert reverse("address_create") in body


def test_adding_an_address_through_the_form(member_client, member):
    data = fields(phone="138 1234 5678", is_default="on")
    response = member_client.post(reverse("address_create"), data, follow=True)
    assert response.redirect_chain == [(reverse("address_list"), 302)]
    assert "Address added." in response.content.decode()
    assert book(member) == [("王小明", True)]
    assert Address.objects.get(user=member).phone == "13812345678"


def test_the_new_address_form_renders(member_client):
    body = member_client.get(reverse("address_create")).content.decode()
    for name in ["recipient", "phone", "province", "city", "district", "detail", "postal_code", "is_default"]:
        assert f'name="{name}"' in body
    assert "Save address" in body


ADDRESS_BAD_INPUT = [
    pytest.param({"recipient": ""}, "recipient", "This field is required.", id="recipient-empty"),
    pytest.param({"recipient": "   "}, "recipient", "This field is required.", id="recipient-blank"),
    pytest.param(
        {"recipient": "x" * 41},
        "recipient",
        "Ensure this value has at most 40 characters (it has 41).",
        id="recipient-long",
    ),
    pytest.param({"phone": ""}, "phone", "This field is required.", id="phone-empty"),
    pytest.param({"phone": "010-12345678"}, "phone", InvalidPhoneError.default_message, id="phone-landline"),
    pytest.param({"province": ""}, "province", "This field is required.", id="province-empty"),
    pytest.param({"city": ""}, "city", "This field is required.", id="city-empty"),
    pytest.param(
        {"city": "c" * 41}, "city", "Ensure this value has at most 40 characters (it has 41).", id="city-long"
    ),
    pytest.param(
        {"district": "d" * 41},
        "district",
        "Ensure this value has at most 40 characters (it has 41).",
        id="district-long",
    ),
    pytest.param({"detail": ""}, "detail", "This field is required.", id="detail-empty"),
    pytest.param(
        {"detail": "d" * 201}, "detail", "Ensure this value has at most 200 characters (it has 201).", id="detail-long"
    ),
    pytest.param({"postal_code": "31000"}, "postal_code", "A postal code is 6 digits, like 310000.", id="postal-short"),
    pytest.param(
        {"postal_code": "31000a"}, "postal_code", "A postal code is 6 digits, like 310000.", id="postal-letters"
    ),
    pytest.param(
        {"postal_code": "3100001"},
        "postal_code",
        "Ensure this value has at most 6 characters (it has 7).",
        id="postal-long",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), ADDRESS_BAD_INPUT)
def test_bad_address_input_shows_the_error_and_writes_nothing(member_client, member, overrides, field, message):
    response = member_client.post(reverse("address_create"), fields(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert book(member) == []


@pytest.mark.parametrize(("overrides", "field", "message"), ADDRESS_BAD_INPUT)
def test_bad_input_on_edit_changes_nothing(member_client, member, overrides, field, message):
    mine = add(member)
    before = rows(member)
    response = member_client.post(reverse("address_update", args=[mine.id]), fields(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert rows(member) == before


def test_the_add_form_at_the_limit_redirects_with_the_message(member_client, member):
    for i in range(20):
        add(member, i)
    response = member_client.get(reverse("address_create"), follow=True)
    assert response.redirect_chain == [(reverse("address_list"), 302)]
    body = response.content.decode()
    assert "You can keep at most 20 addresses. Delete one you no longer use to add another." in body
    assert 'data-testid="address-add"' not in body


def test_posting_a_21st_address_is_refused_with_the_message(member_client, member):
    for i in range(20):
        add(member, i)
    response = member_client.post(reverse("address_create"), fields(recipient="Twenty-one"), follow=True)
    assert (
        "You can keep at most 20 addresses. Delete one you no longer use to add another." in response.content.decode()
    )
    assert Address.objects.filter(user=member).count() == 20
    assert not Address.objects.filter(recipient="Twenty-one").exists()


def test_editing_an_address(member_client, member):
    mine = add(member)
    page = member_client.get(reverse("address_update", args=[mine.id])).content.decode()
    assert 'value="文三路 90 号 3 幢 501 室"' in page
    response = member_client.post(reverse("address_update", args=[mine.id]), fields(recipient="李雷", postal_code=""))
    assert response.status_code == 302
    assert selectors.address_get(user_id=member.pk, address_id=mine.id).recipient == "李雷"


def test_the_default_address_form_cannot_untick_default(member_client, member):
    mine = add(member)
    body = member_client.get(reverse("address_update", args=[mine.id])).content.decode()
    assert "This is your default address." in body
    # A crafted POST without the box ticked still leaves it the default (the field is disabled).
    member_client.post(reverse("address_update", args=[mine.id]), fields())
    assert book(member) == [("王小明", True)]


def test_delete_asks_first_then_deletes_and_promotes(member_client, member):
    a = add(member, 0, recipient="A")
    add(member, 1, recipient="B")
    confirm = member_client.get(reverse("address_delete", args=[a.id]))
    assert confirm.status_code == 200
    assert "Delete this address?" in confirm.content.decode()
    assert book(member) == [("A", True), ("B", False)]
    response = member_client.post(reverse("address_delete", args=[a.id]), follow=True)
    assert "Address deleted." in response.content.decode()
    assert book(member) == [("B", True)]


def test_set_default_from_the_list(member_client, member):
    add(member, 0, recipient="A")
    b = add(member, 1, recipient="B")
    response = member_client.post(reverse("address_set_default", args=[b.id]), follow=True)
    assert "Default address changed." in response.content.decode()
    assert book(member) == [("A", False), ("B", True)]


def test_set_default_refuses_get(member_client, member):
    add(member, 0, recipient="A")
    b = add(member, 1, recipient="B")
    assert member_client.get(reverse("address_set_default", args=[b.id])).status_code == 405
    assert book(member) == [("A", True), ("B", False)]


@pytest.mark.parametrize(
    ("url_name", "method"),
    [
        ("address_update", "get"),
        ("address_update", "post"),
        ("address_delete", "get"),
        ("address_delete", "post"),
        ("address_set_default", "post"),
    ],
)
def test_another_members_address_is_404_on_every_url_and_method(member_client, member, other_member, url_name, method):
    add(other_member, 0, recipient="Theirs A")
    theirs = add(other_member, 1, recipient="Theirs B")
    add(member, 0, recipient="Mine")
    before_theirs, before_mine = rows(other_member), rows(member)
    response = getattr(member_client, method)(
        reverse(url_name, args=[theirs.id]), fields(recipient="Hijacked", is_default="on")
    )
    assert response.status_code == 404
    assert "Theirs" not in response.content.decode()
    assert rows(other_member) == before_theirs
    assert rows(member) == before_mine


@pytest.mark.parametrize("url_name", ["address_update", "address_delete", "address_set_default"])
def test_an_address_that_does_not_exist_is_404(member_client, url_name):
    assert member_client.post(reverse(url_name, args=[999_999]), fields()).status_code == 404
