"""The one address form: the address book and the product page's inline address check alike."""

from __future__ import annotations

import pytest

from accounts.forms import AddressForm
from catalog.forms import InlineAddressForm

ADDRESS = {
    "recipient": "李雷",
    "phone": "13812345678",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路 90 号 3 幢",
    "postal_code": "310000",
}
FORMS = {
    "address book": lambda data: AddressForm(data=data),
    "product page": lambda data: InlineAddressForm(data={"quantity": 2, **data}),
}


@pytest.fixture(params=FORMS, ids=list(FORMS))
def make(request):
    return FORMS[request.param]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("+86 138 1234 5678", "13812345678"), ("138-1234-5678", "13812345678"), ("+49 151 23456789", "+4915123456789")],
)
def test_the_phone_is_stored_normalised(make, typed, stored):
    form = make(ADDRESS | {"phone": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == stored


@pytest.mark.parametrize("phone", ["12345", "+86 123 4567 8901", "phone"])
def test_a_phone_that_is_no_phone_is_refused(make, phone):
    form = make(ADDRESS | {"phone": phone})
    assert not form.is_valid()
    assert list(form.errors) == ["phone"]


@pytest.mark.parametrize("code", ["31000", "31OOOO", "3l0000"])
def test_a_postal_code_is_six_digits(make, code):
    form = make(ADDRESS | {"postal_code": code})
    assert not form.is_valid()
    assert form.errors["postal_code"] == ["A postal code is 6 digits, like 310000."]


def test_a_longer_postal_code_is_refused_by_its_length(make):
    form = make(ADDRESS | {"postal_code": "3100000"})
    assert list(form.errors) == ["postal_code"]


def test_the_postal_code_and_district_may_be_left_empty(make):
    form = make(ADDRESS | {"postal_code": "", "district": ""})
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["postal_code"], form.cleaned_data["district"]) == ("", "")


def test_only_the_address_book_asks_about_the_default_and_only_the_product_page_about_the_quantity():
    assert "is_default" in AddressForm().fields
    assert "quantity" not in AddressForm().fields
    inline = InlineAddressForm()
    assert "is_default" not in inline.fields
    assert list(inline.fields) == ["quantity", *[name for name in AddressForm().fields if name != "is_default"]]
