"""Staff see members' phones, e-mail addresses and shipping addresses masked; a holder of
``accounts.unmask_pii`` reveals one record with a reason, recorded (decision 0057).

"Never contains the full value" is checked on the response bytes, so a value in a title, a
link, a hidden input or a script counts too."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from accounts.models import Address
from pointsmall.audit.models import PiiReveal
from tests.catalog.factories import add_address, make_member, make_product, redeem
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

PHONE, RECIPIENT, STREET = "13912345678", "欧阳娜娜", "幸福路 88 号 3 栋 502"
EMAIL = "nana.ouyang@example.com"
FULL = (PHONE, RECIPIENT, STREET, "88 号", EMAIL)


@pytest.fixture
def member():
    user = make_member(points=5000)
    user.email, user.phone, user.display_name = EMAIL, "13700001111", ""
    user.save()
    return user


@pytest.fixture
def address(member) -> Address:
    return Address.objects.get(pk=add_address(member, recipient=RECIPIENT, phone=PHONE, detail=STREET))


@pytest.fixture
def order(member, address):
    return redeem(member, make_product(stock=5), address_id=address.pk)


def _staff(*names: str, groups: tuple[str, ...] = ()) -> Client:
    user = MemberFactory(is_staff=True)
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user.groups.add(*Group.objects.filter(name__in=groups))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def _shown(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _absent(body: str, *values: str) -> None:
    found = [value for value in values if value in body]
    assert not found, f"full values in the page: {found}"


def _without_the_search_term(body: str, term: str) -> str:
    """The page without the term the clerk typed: the search box and the list's own links keep it."""
    for echo in (f'value="{term}"', f"q={term}", f"q%3D{term}"):
        body = body.replace(echo, "")
    return body


def test_the_address_admin_masks_recipient_phone_street_and_e_mail(address):
    clerk = _staff("accounts.view_address")
    for url in (
        reverse("admin:accounts_address_changelist"),
        reverse("admin:accounts_address_change", args=[address.pk]),
    ):
        body = _shown(clerk.get(url))
        _absent(body, *FULL)
        assert "139****5678" in body and "欧**" in body
    assert "幸福路****" in body
    assert 'data-testid="pii-reveal"' not in body  # no link that would end in a 403


def test_searching_by_a_full_phone_number_finds_the_address_and_shows_it_masked(address, member):
    clerk = _staff("accounts.view_address")
    other = add_address(MemberFactory(), phone="13600000000")
    body = _shown(clerk.get(reverse("admin:accounts_address_changelist"), {"q": PHONE}))
    assert f"/admin/accounts/address/{address.pk}/change/" in body
    assert f"/admin/accounts/address/{other}/change/" not in body
    # The number the clerk typed is in the search box and the list's own links (?q=), nowhere else.
    assert f'value="{PHONE}"' in body
    _absent(_without_the_search_term(body, PHONE), PHONE)
    assert "139****5678" in body


def test_the_member_admin_masks_e_mail_and_phone_and_still_finds_them(member):
    clerk = _staff("accounts.view_user", "accounts.change_user")
    body = _shown(clerk.get(reverse("admin:accounts_user_change", args=[member.pk])))
    _absent(body, EMAIL, "13700001111")
    assert "na***@example.com" in body and "137****1111" in body
    found = _shown(clerk.get(reverse("admin:accounts_user_changelist"), {"q": "13700001111"}))
    assert f"/admin/accounts/user/{member.pk}/change/" in found
    _absent(_without_the_search_term(found, "13700001111"), "13700001111", EMAIL)


def test_the_order_admin_and_its_csv_mask_the_delivery_details(order):
    clerk = _staff("catalog.view_order", "catalog.change_order")
    for url in (reverse("admin:catalog_order_changelist"), reverse("admin:catalog_order_change", args=[order.pk])):
        _absent(_shown(clerk.get(url)), *FULL)
    found = _shown(clerk.get(reverse("admin:catalog_order_changelist"), {"q": PHONE}))
    assert f"/admin/catalog/order/{order.pk}/change/" in found
    exported = clerk.post(
        reverse("admin:catalog_order_changelist"), {"action": "export_csv", "_selected_action": [order.pk]}
    )
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    _absent(text, *FULL)
    row = next(r for r in csv.reader(io.StringIO(text)) if r and r[0] == str(order.pk))
    assert "139****5678" in row and "欧**" in row
    assert not PiiReveal.objects.exists()


def test_an_operator_exports_the_full_shipping_list_and_each_order_is_recorded(order, member):
    operator = _staff(groups=("Operators",))
    exported = operator.post(
        reverse("admin:catalog_order_changelist"), {"action": "export_csv", "_selected_action": [order.pk]}
    )
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    assert PHONE in text and RECIPIENT in text and STREET in text
    assert EMAIL not in text  # shipping needs no e-mail address
    reveal = PiiReveal.objects.get()
    assert (reveal.actor_id, reveal.user_id, reveal.target, reveal.object_id) == (
        operator.user.pk,
        member.pk,
        "catalog.order",
        str(order.pk),
    )
    assert (reveal.fields, reveal.reason) == (["recipient", "phone", "address"], "CSV export")


def test_who_may_unmask_by_default_operators_only():
    holders = set(
        Group.objects.filter(
            permissions__content_type__app_label="accounts", permissions__codename="unmask_pii"
        ).values_list("name", flat=True)
    )
    assert holders == {"Operators"}


def test_staff_without_the_permission_cannot_reveal_and_nothing_is_written(address):
    url = reverse("audit:reveal", args=["accounts", "address", address.pk])
    clerk = _staff("accounts.view_address", "audit.view_audit")
    assert clerk.get(url).status_code == 403
    response = clerk.post(url, {"reason": "curious"})
    assert response.status_code == 403
    _absent(response.content.decode(), *FULL)
    assert not PiiReveal.objects.exists()


@pytest.mark.parametrize(
    "args", [("accounts", "notification", "1"), ("points", "entry", "1"), ("accounts", "address", "999999")]
)
def test_a_record_without_contact_data_or_missing_is_404(args):
    operator = _staff("accounts.unmask_pii")
    assert operator.post(reverse("audit:reveal", args=args), {"reason": "shipping"}).status_code == 404
    assert not PiiReveal.objects.exists()


def test_a_reveal_needs_a_reason_shows_one_record_and_is_in_the_members_audit_trail(address, member):
    operator = _staff("accounts.view_address", "accounts.unmask_pii", "audit.view_audit")
    change = _shown(operator.get(reverse("admin:accounts_address_change", args=[address.pk])))
    url = reverse("audit:reveal", args=["accounts", "address", address.pk])
    assert url in change  # the "Show full contact data" tool
    _absent(_shown(operator.get(url)), *FULL)  # the form asks why first
    refused = _shown(operator.post(url, {"reason": "   "}))
    _absent(refused, *FULL)
    assert not PiiReveal.objects.exists()

    shown = operator.post(url, {"reason": "Courier needs the door number for order 12"})
    body = _shown(shown)
    assert PHONE in body and RECIPIENT in body and STREET in body
    assert "no-store" in shown["Cache-Control"]
    reveal = PiiReveal.objects.get()
    assert (reveal.actor_id, reveal.user_id, reveal.target, reveal.object_id, reveal.fields) == (
        operator.user.pk,
        member.pk,
        "accounts.address",
        str(address.pk),
        ["recipient", "phone", "detail"],
    )
    assert reveal.reason == "Courier needs the door number for order 12"
    # The address page itself stays masked after the reveal.
    _absent(_shown(operator.get(reverse("admin:accounts_address_change", args=[address.pk]))), *FULL)
    timeline = _shown(operator.get(reverse("audit:member", args=[member.pk])))
    assert "Courier needs the door number for order 12" in timeline
    _absent(timeline, *FULL)


def test_the_members_audit_timeline_masks_their_e_mail(member):
    auditor = _staff("audit.view_audit")
    member.is_staff = True
    member.save()  # a privilege change whose subject is the e-mail address
    body = _shown(auditor.get(reverse("audit:member", args=[member.pk])))
    _absent(body, EMAIL)
    assert "na***@example.com" in body


# An attacker's review (issue #16): a clerk without the permission tries to spell a masked value
# out of the admin, and the reveal page is fed garbage.
def _rows(client, url: str, params: dict) -> tuple[int, str]:
    response = client.get(url, params)
    return response.status_code, response.content.decode()


def test_a_clerk_cannot_spell_out_a_masked_phone_with_field_lookups_in_the_query_string(member):
    """``?phone__startswith=13700`` on the list is a yes/no oracle: digit by digit it spells the
    number the page masks. Django's admin allows any lookup on a local field; the masked ones
    must refuse it."""
    clerk = _staff("accounts.view_user")
    url = reverse("admin:accounts_user_changelist")
    for lookup in ("phone__startswith", "phone__contains", "phone__regex", "phone", "email__startswith", "email"):
        status, body = _rows(clerk, url, {lookup: "137"})
        assert status == 400, lookup
        assert f"/admin/accounts/user/{member.pk}/change/" not in body, lookup
    assert _rows(clerk, url, {"is_active__exact": "1"})[0] == 200  # the list's own filters still work


def test_a_clerk_cannot_spell_out_a_masked_phone_with_partial_searches(member):
    """A search for a part of the number is the same oracle; the full number still finds it."""
    clerk = _staff("accounts.view_user")
    url = reverse("admin:accounts_user_changelist")
    _status, body = _rows(clerk, url, {"q": "1370000"})
    assert f"/admin/accounts/user/{member.pk}/change/" not in body
    _status, body = _rows(clerk, url, {"q": "13700001111"})
    assert f"/admin/accounts/user/{member.pk}/change/" in body


def test_a_clerk_guessing_exact_phone_numbers_is_stopped_by_a_search_limit(member, settings):
    """The full number is an exact yes/no oracle too (four masked digits: 10,000 guesses): searches of
    these lists are counted per staff member (``ADMIN_CONTACT_SEARCH_RATE_LIMIT``), answered 429 past it,
    and the list without a search, and another clerk's searches, go on."""
    settings.ADMIN_CONTACT_SEARCH_RATE_LIMIT = "3/h"
    clerk, other = _staff("accounts.view_user"), _staff("accounts.view_user")
    url = reverse("admin:accounts_user_changelist")
    for guess in ("13700000000", "13700000001", "13700000002"):
        assert _rows(clerk, url, {"q": guess})[0] == 200
    status, body = _rows(clerk, url, {"q": "13700001111"})
    assert status == 429
    assert "Too many attempts" in body
    assert f"/admin/accounts/user/{member.pk}/change/" not in body
    assert _rows(clerk, url, {"is_active__exact": "1"})[0] == 200
    status, body = _rows(other, url, {"q": "13700001111"})
    assert status == 200 and f"/admin/accounts/user/{member.pk}/change/" in body


def test_the_address_list_refuses_lookups_on_the_masked_columns(address):
    clerk = _staff("accounts.view_address")
    url = reverse("admin:accounts_address_changelist")
    for lookup in ("phone__startswith", "recipient__startswith", "detail__contains"):
        status, body = _rows(clerk, url, {lookup: PHONE[:4]})
        assert status == 400, lookup
        assert f"/admin/accounts/address/{address.pk}/change/" not in body, lookup
    _status, body = _rows(clerk, url, {"q": PHONE[:7]})
    assert f"/admin/accounts/address/{address.pk}/change/" not in body
    _status, body = _rows(clerk, url, {"q": PHONE})
    assert f"/admin/accounts/address/{address.pk}/change/" in body


@pytest.mark.parametrize("object_id", ["²", "١", "99999999999999999999999", "0", "-1", "1.0"])
def test_a_reveal_of_a_garbage_id_is_404_and_writes_nothing(object_id):
    operator = _staff("accounts.unmask_pii")
    url = f"/admin/audit-trail/reveal/accounts/user/{object_id}/"
    assert operator.post(url, {"reason": "shipping"}).status_code == 404
    assert not PiiReveal.objects.exists()


@pytest.mark.parametrize("reason", ["x" * 10_000, "\u200b\u200b", "...", "\u3000", "a\x00b"])
def test_a_reveal_with_a_huge_or_empty_looking_reason_is_refused_and_writes_nothing(member, reason):
    operator = _staff("accounts.unmask_pii")
    url = reverse("audit:reveal", args=["accounts", "user", member.pk])
    response = operator.post(url, {"reason": reason})
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert EMAIL not in response.content.decode()
    assert not PiiReveal.objects.exists()


def test_the_member_autocomplete_does_not_show_the_full_e_mail(member):
    clerk = _staff("accounts.view_user", "catalog.view_order")
    response = clerk.get(
        "/admin/autocomplete/",
        {"app_label": "catalog", "model_name": "order", "field_name": "member", "term": "na"},
    )
    assert response.status_code == 404
    assert EMAIL not in response.content.decode()
