"""The host integration's boundaries found by the attacker's review of issue #13: login links
that sign exactly one set of parameters, accounts with any back-office role kept out, one
host's member out of another host's reach, and every endpoint refusing a member it may not
act for (decision 0035)."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Group, Permission

from accounts import selectors as accounts_selectors
from points import services as points_services
from points.models import Account, Entry, Hold
from pointsmall.integration import signing
from pointsmall.integration.exceptions import RedirectNotAllowedError
from pointsmall.integration.models import HostMember, IdempotencyRecord, UsedNonce
from pointsmall.integration.views import safe_redirect
from tests.integration.host import make_host

pytestmark = pytest.mark.django_db

User = get_user_model()


def _signed(host, params: dict[str, str]) -> dict[str, str]:
    return {**params, "sign": signing.sign(host.secret, signing.link_string(params))}


def _link_params(host, uid: str, **extra: str) -> dict[str, str]:
    return {"key": host.key_id, "uid": uid, "ts": str(int(time.time())), "nonce": secrets.token_hex(16), **extra}


def _mall_member(email: str, **extra):
    user = User.objects.create_user(email=email, password="pw-123456-x", **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _shop_staff(email: str = "shop@example.com"):
    """The seeded coupon-desk account: in the "Shop staff" group, not ``is_staff``."""
    user = _mall_member(email)
    user.groups.add(Group.objects.get_or_create(name="Shop staff")[0])
    return user


def _counts() -> tuple[int, int, int]:
    return User.objects.count(), HostMember.objects.count(), EmailAddress.objects.count()


# --- 1. Login links sign one set of parameters --------------------------------------------


def test_link_string_encodes_names_and_values_so_separators_inside_a_value_stay_data():
    assert signing.link_string({"uid": "u-42", "redirect": "/mall/?a=1&b=2", "sign": "x"}) == (
        "redirect=%2Fmall%2F%3Fa%3D1%26b%3D2&uid=u-42"
    )
    # Without the encoding these two would be the same text, so the same signature.
    assert signing.link_string({"a": "1&b=2"}) != signing.link_string({"a": "1", "b": "2"})
    assert signing.link_string({"uid": "李 雷~._-"}) == "uid=%E6%9D%8E%20%E9%9B%B7~._-"


def test_a_signed_link_cannot_be_reread_as_another_members_link(host, client):
    host.call("PUT", "/members/m1", {"display_name": "Attacker"})
    host.call("PUT", "/members/victim1", {"display_name": "Victim"})
    ts = str(int(time.time()))
    # The host signs a link for m1 with a redirect m1 chose.
    signed = _signed(host, _link_params(host, "m1", ts=ts, redirect=f"/p&ts={ts}&uid=victim1&zzz="))
    # Under the old unescaped scheme this list signs the very same text, as victim1.
    forged = [
        ("key", host.key_id),
        ("nonce", signed["nonce"]),
        ("redirect", "/p"),
        ("ts", ts),
        ("uid", "victim1"),
        ("zzz", f"&ts={ts}&uid=m1"),
        ("sign", signed["sign"]),
    ]
    before = _counts()
    response = client.get("/sso/login?" + urlencode(forged))
    assert response.status_code == 400
    assert "This login link is not valid." in response.content.decode()
    assert _counts() == before
    assert not UsedNonce.objects.filter(nonce=signed["nonce"]).exists()
    assert SESSION_KEY not in client.session
    # The link the host really signed still works, for m1, with m1's odd but harmless path.
    response = client.get("/sso/login?" + urlencode(signed))
    assert response.status_code == 302
    assert response["Location"] == f"/p&ts={ts}&uid=victim1&zzz="
    assert int(client.session[SESSION_KEY]) == HostMember.objects.get(external_id="m1").user_id


def test_the_same_forgery_without_an_extra_parameter_fails_the_signature(host, client):
    host.call("PUT", "/members/victim1", {"display_name": "Victim"})
    ts = str(int(time.time()))
    signed = _signed(host, _link_params(host, "m1", ts=ts, redirect=f"/p&ts={ts}&uid=victim1"))
    forged = {**signed, "redirect": "/p", "uid": "victim1"}
    before = _counts()
    response = client.get("/sso/login?" + urlencode(forged))
    assert response.status_code == 401
    assert _counts() == before
    assert not UsedNonce.objects.filter(nonce=signed["nonce"]).exists()
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("extra", ["zzz", "next", "uid2", "Sign"])
def test_a_link_with_a_parameter_outside_the_list_is_refused_even_when_signed(host, client, extra):
    before = _counts()
    response = client.get("/sso/login?" + urlencode(_signed(host, _link_params(host, "u1", **{extra: "1"}))))
    assert response.status_code == 400
    assert "This login link is not valid." in response.content.decode()
    assert _counts() == before
    assert not UsedNonce.objects.exists()
    assert SESSION_KEY not in client.session


def test_the_api_request_string_has_one_reading_even_with_a_newline_in_the_path():
    # request.path is percent-decoded, so "%0A" in a path is a raw newline in the signed text;
    # the method (first line) and timestamp, nonce and body hash (last three lines: digits,
    # [A-Za-z0-9_-], hex) never hold one, so the path is whatever lies between them.
    path = signing.canonical_path("/api/v1/members/a%0A1767225600%0Ann/balance?q=%0A")
    assert path == "/api/v1/members/a\n1767225600\nnn/balance?q=%0A"
    text = signing.request_string(method="get", path=path, timestamp="1767225600", nonce="n" * 16, body=b"")
    lines = text.split("\n")
    assert lines[0] == "GET"
    assert "\n".join(lines[1:-3]) == path
    assert lines[-3:] == ["1767225600", "n" * 16, signing.body_hash(b"")]


def test_a_signed_request_with_a_newline_in_the_path_or_query_is_answered_not_crashed(host):
    response = host.call("GET", "/members/a%0Ab/balance")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    response = host.call("GET", "/members/nobody/entries?page=%0A1")
    assert response.status_code in (404, 422)
    assert not HostMember.objects.exists()


# --- 2. Any back-office role keeps an account out -----------------------------------------


def test_privileged_means_any_back_office_role():
    member = _mall_member("plain@example.com")
    shop = _shop_staff()
    perm = _mall_member("perm@example.com")
    perm.user_permissions.add(Permission.objects.get(codename="view_user"))
    staff = _mall_member("staff@example.com", is_staff=True)
    root = _mall_member("root@example.com", is_superuser=True)
    assert [accounts_selectors.is_privileged(user_id=u.pk) for u in (member, shop, perm, staff, root)] == [
        False,
        True,
        True,
        True,
        True,
    ]
    assert accounts_selectors.is_privileged(user_id=10**9) is True
    assert accounts_selectors.email_holder(email="SHOP@example.com").privileged is True
    assert accounts_selectors.email_holder(email="plain@example.com").privileged is False
    assert set(User.objects.filter(accounts_selectors.privileged_q()).values_list("pk", flat=True)) == {
        shop.pk,
        perm.pk,
        staff.pk,
        root.pk,
    }


def test_shop_staff_account_is_not_linked_by_email(host):
    _shop_staff()
    before = _counts()
    response = host.call("PUT", "/members/s1", {"email": "shop@example.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before


def test_account_with_its_own_permission_is_not_linked_by_email(host):
    user = _mall_member("perm@example.com")
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    before = _counts()
    response = host.call("PUT", "/members/p1", {"email": "perm@example.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before


def test_linked_member_who_joined_a_group_is_not_updated_nor_signed_in(host, client):
    host.call("PUT", "/members/k1", {"display_name": "Kim"})
    user = User.objects.get(host_links__external_id="k1")
    user.groups.add(Group.objects.get_or_create(name="Shop staff")[0])
    response = host.call("PUT", "/members/k1", {"display_name": "Changed"})
    assert response.status_code == 409
    assert response.json()["code"] == "member_unavailable"
    user.refresh_from_db()
    assert user.display_name == "Kim"
    params = _signed(host, _link_params(host, "k1"))
    response = client.get("/sso/login?" + urlencode(params))
    assert response.status_code == 403
    assert "This account cannot sign in through a shop&#x27;s link." in response.content.decode()
    assert not UsedNonce.objects.filter(nonce=params["nonce"]).exists()
    assert SESSION_KEY not in client.session


# --- 3. One host's member is out of another host's reach ------------------------------------


def test_a_host_vouched_address_never_links_the_member_to_another_client(host):
    host.call("PUT", "/members/m1", {"email": "m1@x.com", "email_verified": True})
    member = User.objects.get(host_links__external_id="m1")
    assert EmailAddress.objects.get(user=member).verified is True
    other = make_host("Other")
    before = _counts()
    response = other.call("PUT", "/members/b1", {"email": "m1@x.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before
    assert list(HostMember.objects.values_list("client_id", "external_id")) == [(host.client_id, "m1")]
    # Nor can the other client reach the member under its own id afterwards.
    assert other.call("GET", "/members/b1/balance").status_code == 404


def test_the_first_client_still_links_a_mall_verified_account(host):
    member = _mall_member("own@example.com")
    response = host.call("PUT", "/members/o1", {"email": "own@example.com", "email_verified": True})
    assert response.status_code == 200
    assert list(HostMember.objects.values_list("external_id", "user_id")) == [("o1", member.pk)]


def test_a_closed_account_is_not_linked_by_email(host):
    _mall_member("closed@example.com", is_active=False)
    before = _counts()
    response = host.call("PUT", "/members/c1", {"email": "closed@example.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before


# --- 4. Every endpoint that names a member refuses one it may not act for -------------------


def _written() -> tuple:
    return (
        list(Hold.objects.order_by("pk").values_list("pk", "status", "amount")),
        list(Entry.objects.order_by("pk").values_list("pk", "kind", "amount")),
        list(Account.objects.order_by("pk").values_list("balance", "held")),
        IdempotencyRecord.objects.count(),
    )


def _unusable(how: str, user) -> None:
    if how == "staff":
        User.objects.filter(pk=user.pk).update(is_staff=True)
    elif how == "shop_staff":
        user.groups.add(Group.objects.get_or_create(name="Shop staff")[0])
    else:
        User.objects.filter(pk=user.pk).update(is_active=False)


@pytest.fixture
def member(host):
    host.call("PUT", "/members/u1", {"display_name": "Ann"})
    user = User.objects.get(host_links__external_id="u1")
    points_services.points_earn(user_id=user.pk, amount=500, idempotency_key="boundaries-earn")
    return user


@pytest.mark.parametrize("how", ["staff", "shop_staff", "closed"])
def test_purchase_for_a_member_the_integration_may_not_use_is_refused(host, member, how):
    _unusable(how, member)
    before = _written()
    response = host.call("POST", "/purchases", {"external_order_id": "SO-1", "member": "u1", "amount": "128.00"})
    assert response.status_code == 409
    assert response.json()["code"] == "member_unavailable"
    assert _written() == before


@pytest.mark.parametrize("how", ["staff", "shop_staff", "closed"])
def test_hold_for_a_member_the_integration_may_not_use_is_refused(host, member, how):
    _unusable(how, member)
    before = _written()
    response = host.call("POST", "/members/u1/holds", {"host_order_id": "A1", "points": 100})
    assert response.status_code == 409
    assert response.json()["code"] == "member_unavailable"
    assert _written() == before


@pytest.mark.parametrize("path", ["/members/u1/balance", "/members/u1/entries"])
def test_reading_a_member_the_integration_may_not_use_is_refused(host, member, path):
    _unusable("shop_staff", member)
    response = host.call("GET", path)
    assert response.status_code == 409
    assert response.json()["code"] == "member_unavailable"


def test_put_for_a_closed_member_is_refused(host, member):
    _unusable("closed", member)
    response = host.call("PUT", "/members/u1", {"display_name": "Changed"})
    assert response.status_code == 409
    assert response.json()["code"] == "member_unavailable"
    member.refresh_from_db()
    assert member.display_name == "Ann"


# --- 5. Redirects: no dot segments -----------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/./admin/", "/mall/../admin/", "/%2e/admin/", "/mall/%2E%2E/admin", "/mall/..", "/.", "/mall/./"],
)
def test_redirect_with_dot_segments_is_refused(target):
    with pytest.raises(RedirectNotAllowedError):
        safe_redirect(target)


def test_redirect_with_dots_inside_names_is_kept():
    assert safe_redirect("/mall/v1.2/..x/?q=./..") == "/mall/v1.2/..x/?q=./.."


def test_a_signed_link_to_a_dot_segment_admin_path_is_refused(host, client):
    response = client.get("/sso/login?" + urlencode(_signed(host, _link_params(host, "u1", redirect="/./admin/"))))
    assert response.status_code == 400
    assert not User.objects.exists()
    assert not UsedNonce.objects.exists()
    assert SESSION_KEY not in client.session
