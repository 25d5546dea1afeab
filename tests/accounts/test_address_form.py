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


def test_the_postal_code_may_be_left_empty(make):
    form = make(ADDRESS | {"postal_code": ""})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["postal_code"] == ""


def test_the_district_may_be_left_empty_only_for_a_city_without_districts(make):
    assert make(ADDRESS | {"province": "河南省", "city": "济源市", "district": ""}).is_valid()
    form = make(ADDRESS | {"district": ""})
    assert form.errors == {"district": ["Choose a district."]}


@pytest.mark.parametrize(
    ("region", "field", "message"),
    [
        pytest.param({"province": "火星省"}, "province", "Choose a province from the list.", id="no-such-province"),
        pytest.param({"city": "广州市"}, "city", "广州市 is not a city of 浙江省.", id="city-of-another-province"),
        pytest.param(
            {"district": "浦东新区"}, "district", "浦东新区 is not a district of 杭州市.", id="district-elsewhere"
        ),
    ],
)
def test_a_region_that_is_no_chain_is_refused_on_its_field(make, region, field, message):
    form = make(ADDRESS | region)
    assert not form.is_valid()
    assert form.errors == {field: [message]}


def test_a_municipality_is_its_own_city():
    assert AddressForm(data=ADDRESS | {"province": "上海市", "city": "上海市", "district": "浦东新区"}).is_valid()
    assert AddressForm(data=ADDRESS | {"province": "重庆市", "city": "重庆市", "district": "城口县"}).is_valid()


def test_the_selects_offer_what_is_under_the_level_above():
    form = AddressForm(initial={"province": "浙江省", "city": "杭州市"})
    assert [value for value, _ in form.fields["city"].widget.choices][:3] == ["", "杭州市", "宁波市"]
    assert "西湖区" in dict(form.fields["district"].widget.choices)
    empty = AddressForm()
    assert [label for _, label in empty.fields["city"].widget.choices] == ["Choose a province first"]
    assert len(empty.fields["province"].widget.choices) == 32


def test_a_city_left_from_another_province_starts_over():
    form = AddressForm(initial={"province": "江苏省", "city": "杭州市", "district": "西湖区"})
    assert (form.initial["city"], form.initial["district"]) == ("", "")
    assert form.saved_region == ""


def test_a_saved_region_outside_the_data_is_shown_to_choose_again():
    form = AddressForm(initial={"province": "上海", "city": "上海", "district": "浦东"}, saved=True)
    assert form.saved_region == "上海 上海 浦东"
    assert form.initial["province"] == ""
    assert AddressForm(initial=ADDRESS, saved=True).saved_region == ""


def test_only_the_address_book_asks_about_the_default_and_only_the_product_page_about_the_quantity():
    assert "is_default" in AddressForm().fields
    assert "quantity" not in AddressForm().fields
    inline = InlineAddressForm()
    assert "is_default" not in inline.fields
    assert list(inline.fields) == ["quantity", *[name for name in AddressForm().fields if name != "is_default"]]
