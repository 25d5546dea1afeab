"""accounts.regions: the division data as members write addresses, and the picker's JSON endpoint."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import regions, services
from accounts.models import Address


def test_the_data_has_every_province_and_the_municipalities_are_their_own_city():
    assert len(regions.provinces()) == 31
    assert regions.cities(province="北京市") == ["北京市"]
    assert "城口县" in regions.districts(province="重庆市", city="重庆市")
    assert "济源市" in regions.cities(province="河南省")
    assert regions.districts(province="河南省", city="济源市") == []


@pytest.mark.parametrize(
    ("names", "code"),
    [
        ({"province": "浙江省", "city": "杭州市", "district": "西湖区"}, "330106"),
        ({"province": "河南省", "city": "济源市"}, "419001"),
        ({"province": "浙江省", "city": "杭州市"}, None),  # the city has districts: one is needed
        ({"province": "浙江省", "city": "广州市", "district": "天河区"}, None),
        ({"province": "浙江省", "city": "杭州市", "district": "浦东新区"}, None),
        ({"province": "上海", "city": "上海市", "district": "浦东新区"}, None),
    ],
)
def test_region_code(names, code):
    assert regions.region_code(**names) == code


def test_a_saved_address_gets_its_code_and_a_free_text_one_keeps_its_text(member):
    base = {"recipient": "王小明", "phone": "13812345678", "detail": "文三路 90 号"}
    services.address_create(user_id=member.pk, province="浙江省", city="杭州市", district="西湖区", **base)
    services.address_create(user_id=member.pk, province="上海", city="上海", district="浦东", **base)
    rows = list(Address.objects.filter(user=member).order_by("pk").values_list("province", "region_code"))
    assert rows == [("浙江省", "330106"), ("上海", "")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "first"),
    [({}, "北京市"), ({"province": "浙江省"}, "杭州市"), ({"province": "浙江省", "city": "杭州市"}, "上城区")],
)
def test_the_endpoint_gives_the_options_under_a_level(member_client, query, first):
    response = member_client.get(reverse("address_regions"), query)
    assert response.status_code == 200
    assert response.json()["options"][0] == first


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"province": "火星省"}, "Choose a province from the list."),
        ({"province": "浙江省", "city": "广州市"}, "广州市 is not a city of 浙江省."),
    ],
)
def test_the_endpoint_answers_a_name_not_in_the_data_with_404(member_client, query, error):
    response = member_client.get(reverse("address_regions"), query)
    assert response.status_code == 404
    assert response.json() == {"error": error}


def test_the_endpoint_is_for_members(client):
    response = client.get(reverse("address_regions"), {"province": "浙江省"})
    assert response.status_code == 302


def test_without_script_the_refresh_button_fills_the_cities_and_saves_nothing(member, member_client):
    response = member_client.post(
        reverse("address_create"), {"province": "浙江省", "city": "", "recipient": "王小明", "region_refresh": "1"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="杭州市">杭州市</option>' in page
    assert 'value="王小明"' in page
    assert "errorlist" not in page
    assert not Address.objects.filter(user=member).exists()


def test_a_bad_region_posted_is_a_field_error_and_saves_nothing(member, member_client):
    data = {
        "recipient": "王小明",
        "phone": "13812345678",
        "province": "浙江省",
        "city": "广州市",
        "district": "天河区",
        "detail": "文三路 90 号",
    }
    response = member_client.post(reverse("address_create"), data)
    assert response.status_code == 200
    assert "广州市 is not a city of 浙江省." in response.content.decode()
    assert not Address.objects.filter(user=member).exists()


def test_the_edit_page_shows_a_saved_region_outside_the_data(member, member_client):
    address = services.address_create(
        user_id=member.pk,
        recipient="王小明",
        phone="13812345678",
        province="上海",
        city="上海",
        district="",
        detail="x",
    )
    response = member_client.get(reverse("address_update", args=[address.id]))
    assert "Saved as “上海 上海”" in response.content.decode()


def test_the_migration_fills_the_code_where_the_names_match_and_keeps_the_text_otherwise(member):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0019_address_region_code")
    base = {"recipient": "王小明", "phone": "13812345678", "detail": "文三路 90 号"}
    services.address_create(user_id=member.pk, province="浙江省", city="杭州市", district="西湖区", **base)
    services.address_create(user_id=member.pk, province="Zhejiang", city="Hangzhou", district="", **base)
    Address.objects.update(region_code="")  # as they were before the migration

    migration.fill_region_codes(apps, None)
    migration.fill_region_codes(apps, None)  # a second run changes nothing

    rows = list(Address.objects.filter(user=member).order_by("pk").values_list("province", "city", "region_code"))
    assert rows == [("浙江省", "杭州市", "330106"), ("Zhejiang", "Hangzhou", "")]


@pytest.mark.parametrize(
    "region",
    [
        {"province": "浙江省 ", "city": "杭州市"},  # padded: tidied to a real province
        {"province": "浙江省", "city": " 杭州市"},
        {"province": "浙江\u200b省", "city": "杭州市"},  # an invisible character, removed
    ],
)
def test_a_padded_region_without_its_district_is_refused_and_saves_nothing(member, member_client, region):
    # The district is needed when the city has districts, whatever spacing the names were sent with.
    data = {"recipient": "王小明", "phone": "13812345678", "district": "", "detail": "文三路 90 号", **region}
    response = member_client.post(reverse("address_create"), data)
    assert response.status_code == 200
    assert "Choose a district." in response.content.decode()
    assert not Address.objects.filter(user=member).exists()
