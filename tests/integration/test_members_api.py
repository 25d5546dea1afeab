"""PUT /members/{external_id}: the host creates, updates and links members (decision 0035)."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from pointsmall.integration.models import HostMember
from tests.integration.host import make_host

pytestmark = pytest.mark.django_db

User = get_user_model()


def _mall_member(email: str, *, verified: bool = True, **extra):
    user = User.objects.create_user(email=email, password="pw-123456-x", **extra)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def _counts():
    return User.objects.count(), HostMember.objects.count(), EmailAddress.objects.count()


def test_new_member_without_email_gets_a_stand_in_address_and_no_address_row(host):
    response = host.call("PUT", "/members/u-1", {"display_name": " 李雷 ", "language": "zh-hans"})
    assert response.status_code == 201, response.content
    assert response.json() == {
        "external_id": "u-1",
        "created": True,
        "email": None,
        "phone": None,
        "display_name": "李雷",
        "language": "zh-hans",
    }
    link = HostMember.objects.get(client_id=host.client_id, external_id="u-1")
    user = link.user
    assert user.email.endswith("@members.invalid")
    assert user.email.startswith(f"h{host.client_id}-")
    assert user.own_email == ""
    assert not user.has_usable_password()
    assert not EmailAddress.objects.filter(user=user).exists()
    assert user.points_account.balance == 0


def test_verified_email_and_phone_are_recorded(host):
    response = host.call(
        "PUT",
        "/members/u-2",
        {"email": "Li.Lei@Example.com", "email_verified": True, "phone": "138 0013 8000", "phone_verified": True},
    )
    assert response.status_code == 201
    assert response.json()["email"] == "li.lei@example.com"
    assert response.json()["phone"] == "13800138000"
    user = User.objects.get(host_links__external_id="u-2")
    assert user.phone_verified_at is not None
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("li.lei@example.com", True, True)
    ]


def test_no_signup_bonus_for_a_host_member_even_after_confirming_an_address(host):
    from accounts import services as accounts_services

    host.call("PUT", "/members/u-3", {"email": "a@example.com", "email_verified": True})
    user = User.objects.get(host_links__external_id="u-3")
    result = accounts_services.signup_bonus_claim(user_id=user.pk, email="a@example.com")
    assert result.granted == 0
    user.points_account.refresh_from_db()
    assert user.points_account.balance == 0
    assert user.points_account.pending == 0
    assert not user.notifications.exists()


def test_put_again_updates_only_the_given_fields(host):
    host.call("PUT", "/members/u-4", {"display_name": "Ann", "phone": "13800138001"})
    response = host.call("PUT", "/members/u-4", {"email": "ann@example.com"})
    assert response.status_code == 200
    assert response.json() == {
        "external_id": "u-4",
        "created": False,
        "email": "ann@example.com",
        "phone": "13800138001",
        "display_name": "Ann",
        "language": None,
    }
    user = User.objects.get(host_links__external_id="u-4")
    assert user.email == "ann@example.com"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("ann@example.com", False, True)
    ]
    assert User.objects.count() == 1


def test_existing_verified_member_is_linked_when_the_host_verified_the_address_too(host):
    member = _mall_member("bob@example.com")
    response = host.call(
        "PUT", "/members/b1", {"email": "BOB@example.com", "email_verified": True, "display_name": "Bob"}
    )
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert HostMember.objects.get(external_id="b1").user_id == member.pk
    member.refresh_from_db()
    assert member.display_name == "Bob"
    assert User.objects.count() == 1


def test_linking_by_a_secondary_address_keeps_the_members_login(host):
    member = _mall_member("main@example.com")
    EmailAddress.objects.create(user=member, email="second@example.com", verified=True, primary=False)
    response = host.call("PUT", "/members/s2", {"email": "second@example.com", "email_verified": True})
    assert response.status_code == 200
    assert response.json()["email"] == "main@example.com"
    member.refresh_from_db()
    assert member.email == "main@example.com"
    assert set(EmailAddress.objects.filter(user=member).values_list("email", "primary")) == {
        ("main@example.com", True),
        ("second@example.com", False),
    }


@pytest.mark.parametrize(("host_verified", "mall_verified"), [(False, True), (True, False), (False, False)])
def test_existing_member_is_not_linked_unless_both_sides_verified(host, host_verified, mall_verified):
    _mall_member("carol@example.com", verified=mall_verified)
    before = _counts()
    response = host.call("PUT", "/members/c1", {"email": "carol@example.com", "email_verified": host_verified})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before


def test_staff_account_is_never_linked_and_gets_the_same_answer(host):
    _mall_member("boss@example.com", is_staff=True)
    before = _counts()
    response = host.call("PUT", "/members/s1", {"email": "boss@example.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before


def test_member_already_linked_to_another_id_of_this_client_is_not_linked_again(host):
    member = _mall_member("dave@example.com")
    assert host.call("PUT", "/members/d1", {"email": "dave@example.com", "email_verified": True}).status_code == 200
    before = _counts()
    response = host.call("PUT", "/members/d2", {"email": "dave@example.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before
    assert list(HostMember.objects.values_list("external_id", "user_id")) == [("d1", member.pk)]


def test_another_client_may_not_link_a_member_a_host_already_links(host):
    # Issue #13: a second host reaching the first one's member (balance, holds, login links).
    member = _mall_member("erin@example.com")
    other = make_host("Other")
    assert host.call("PUT", "/members/e1", {"email": "erin@example.com", "email_verified": True}).status_code == 200
    before = _counts()
    response = other.call("PUT", "/members/zz", {"email": "erin@example.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert _counts() == before
    assert list(HostMember.objects.values_list("client_id", "external_id", "user_id")) == [
        (host.client_id, "e1", member.pk)
    ]


def test_email_change_to_another_members_address_is_409(host):
    _mall_member("frank@example.com", verified=False)
    host.call("PUT", "/members/f1", {"display_name": "F"})
    user = User.objects.get(host_links__external_id="f1")
    response = host.call("PUT", "/members/f1", {"email": "frank@example.com", "email_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    user.refresh_from_db()
    assert user.own_email == ""
    assert not EmailAddress.objects.filter(user=user).exists()


def test_phone_verified_by_another_member_is_409(host):
    User.objects.create_user(email="gina@example.com", phone="13800138002", phone_verified_at="2026-01-01T00:00Z")
    before = _counts()
    response = host.call("PUT", "/members/g1", {"phone": "13800138002", "phone_verified": True})
    assert response.status_code == 409
    assert response.json()["code"] == "phone_in_use"
    assert _counts() == before


def test_unverified_phone_of_another_member_is_fine(host):
    User.objects.create_user(email="hal@example.com", phone="13800138003")
    response = host.call("PUT", "/members/h1", {"phone": "13800138003"})
    assert response.status_code == 201
    assert response.json()["phone"] == "13800138003"


def test_linked_member_who_became_staff_is_not_updated(host):
    host.call("PUT", "/members/k1", {"display_name": "Kim"})
    User.objects.filter(host_links__external_id="k1").update(is_staff=True)
    response = host.call("PUT", "/members/k1", {"display_name": "Changed"})
    assert response.status_code == 409
    assert response.json()["code"] == "member_unavailable"
    assert User.objects.get(host_links__external_id="k1").display_name == "Kim"


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/members/bad%20id", {}, "invalid_request"),
        ("/members/a,b", {}, "invalid_request"),
        ("/members/" + "x" * 65, {}, "invalid_request"),
        ("/members/ok", {"email": "not-an-address"}, "invalid_email"),  # one rule, one code
        ("/members/ok", {"email": "a@b"}, "invalid_email"),
        ("/members/ok", {"email": "x@members.invalid"}, "invalid_email"),
        ("/members/ok", {"phone": "12345"}, "invalid_phone"),
        ("/members/ok", {"display_name": "a\u202eb"}, "invalid_text"),
        ("/members/ok", {"display_name": "x" * 41}, "invalid_request"),
        ("/members/ok", {"language": "fr"}, "invalid_request"),
        ("/members/ok", {"nickname": "x"}, "invalid_request"),
    ],
)
def test_invalid_values_are_422_and_write_nothing(host, path, body, code):
    before = _counts()
    response = host.call("PUT", path, body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert _counts() == before


def test_unsigned_put_is_refused(host):
    response = host.http.put("/api/v1/members/u1", data=b"{}", content_type="application/json")
    assert response.status_code == 401
    assert not User.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", [{"display_name": "Racer"}, {"email": "race@example.com", "email_verified": True}])
def test_concurrent_first_puts_make_one_member(body):
    from pointsmall.integration import services
    from tests.concurrency import run_together

    shop = make_host()
    results = run_together(
        [lambda: services.host_member_put(client_id=shop.client_id, external_id="race", fields=body) for _ in range(4)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _user_id, created in results) == [False, False, False, True]
    assert len({user_id for user_id, _created in results}) == 1
    assert User.objects.count() == 1
    assert HostMember.objects.count() == 1
