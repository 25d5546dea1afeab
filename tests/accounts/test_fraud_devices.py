"""Farming referrals from one phone: the device cookie, and referral rewards held for it (docs/decisions/0056)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from accounts import devices, selectors
from accounts.enums import HoldReason, ReferralStatus, RiskReason
from accounts.models import MemberDevice, Referral, RiskFlag, User
from points import selectors as points_selectors
from points import services as points_services
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import MemberFactory

PASSWORD = "plum-Orchard-walks-42"  # the sign-up form's; members made by the factory use tests.factories.PASSWORD


@pytest.fixture(autouse=True)
def _invite_form(settings):
    settings.ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}


@pytest.fixture
def inviter(db):
    return MemberFactory(email="inviter@example.com")


def sign_up(client: Client, email: str, inviter, ip: str) -> User:
    code = selectors.invite_code_of(user_id=inviter.pk)
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD, "invite_code": code}
    assert client.post(reverse("account_signup"), data, REMOTE_ADDR=ip).status_code == 302
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert match
    assert client.post(match.group(1), REMOTE_ADDR=ip).status_code == 302
    sign_out(client)
    return User.objects.get(email=email)


def sign_out(client: Client) -> None:
    """Like a browser signing out: the session goes, the device cookie stays (``Client.logout`` drops every cookie)."""
    client.cookies.pop(settings.SESSION_COOKIE_NAME, None)


def device_id(client: Client) -> str:
    request = HttpRequest()
    request.COOKIES[devices.COOKIE_NAME] = client.cookies[devices.COOKIE_NAME].value
    return devices.device_id_of(request)


def pending(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).pending


# ---------- the cookie ----------


def test_the_sign_up_page_gives_a_signed_http_only_lax_cookie_that_lasts(client, db):
    response = client.get(reverse("account_signup"))
    cookie = response.cookies[devices.COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == devices.COOKIE_MAX_AGE
    assert cookie["secure"] == ""  # development; production sets SESSION_COOKIE_SECURE
    assert len(device_id(client)) >= 16
    # Kept, not renewed, on the next visit.
    assert devices.COOKIE_NAME not in client.get(reverse("account_login")).cookies


def test_the_cookie_is_secure_where_the_session_cookie_is(client, db, settings):
    settings.SESSION_COOKIE_SECURE = True
    assert client.get(reverse("account_signup")).cookies[devices.COOKIE_NAME]["secure"] is True


def test_a_signed_out_visitor_on_a_public_page_gets_no_cookie(client, db):
    assert devices.COOKIE_NAME not in client.get("/").cookies


def test_a_forged_cookie_is_replaced_and_never_recorded(client, inviter):
    client.cookies[devices.COOKIE_NAME] = "forged-device-id-0000000000"
    response = client.get(reverse("account_signup"))
    assert response.cookies[devices.COOKIE_NAME].value != "forged-device-id-0000000000"
    friend = sign_up(client, "friend@example.com", inviter, "198.51.100.1")
    forged = points_services.identity_hash("device:forged-device-id-0000000000")
    assert not MemberDevice.objects.filter(device_hash=forged).exists()
    assert Referral.objects.get(invitee=friend).signup_device != forged


def _signed(value: str, salt: str = devices.COOKIE_SALT) -> str:
    from django.core import signing

    return signing.get_cookie_signer(salt=devices.COOKIE_NAME + salt).sign(value)


@pytest.mark.parametrize(
    "value",
    [
        "A" * 4000,  # oversized
        "x:y:z",  # signer-shaped garbage
        "\u00e9\u0000",
        "a" * 24 + ":",
        "__wrong_salt__",  # validly signed for another purpose
        "__too_short__",  # validly signed, but no id of ours
        "__too_long__",
    ],
)
def test_a_garbage_or_misused_cookie_is_replaced_not_an_error(client, db, value):
    value = {
        "__wrong_salt__": _signed("w" * 24, salt="accounts.other"),
        "__too_short__": _signed("short"),
        "__too_long__": _signed("L" * 65),
    }.get(value, value)
    client.cookies[devices.COOKIE_NAME] = value
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    given = response.cookies[devices.COOKIE_NAME].value
    assert given != value
    assert 16 <= len(device_id(client)) <= 64


def test_only_a_keyed_hash_of_the_device_is_stored(client, inviter):
    friend = sign_up(client, "friend@example.com", inviter, "198.51.100.1")
    raw = device_id(client)
    stored = Referral.objects.get(invitee=friend).signup_device
    assert stored == points_services.identity_hash(f"device:{raw}")
    assert raw not in stored
    assert list(MemberDevice.objects.filter(user=friend).values_list("device_hash", flat=True)) == [stored]


def test_signing_in_records_the_device_once(client, inviter):
    client.get(reverse("account_login"))
    for _ in range(2):
        response = client.post(reverse("account_login"), {"login": inviter.email, "password": FACTORY_PASSWORD})
        assert response.status_code == 302
        sign_out(client)
    assert MemberDevice.objects.filter(user=inviter).count() == 1


# ---------- the farming patterns ----------


def test_a_friend_signing_up_on_the_inviters_own_phone_is_held_and_the_inviter_flagged(client, inviter):
    client.post(reverse("account_login"), {"login": inviter.email, "password": FACTORY_PASSWORD})
    sign_out(client)
    friend = sign_up(client, "friend@example.com", inviter, "198.51.100.1")
    referral = Referral.objects.get(invitee=friend)
    assert (referral.status, referral.held_reason) == (ReferralStatus.HELD, HoldReason.SAME_DEVICE)
    assert referral.hold_evidence["inviter_device"] is True
    assert pending(inviter) == 0
    flag = RiskFlag.objects.get(user=inviter)
    assert flag.reason == RiskReason.REFERRAL_DEVICE
    assert flag.evidence["referrals"] == [referral.pk]
    assert flag.evidence["device"] == referral.signup_device[:12]


def test_two_friends_on_one_device_hold_both_and_cancel_the_first_pending_reward(client, inviter):
    first = sign_up(client, "first@example.com", inviter, "198.51.100.1")
    assert Referral.objects.get(invitee=first).status == ReferralStatus.APPROVED
    assert pending(inviter) == 50
    second = sign_up(client, "second@example.com", inviter, "198.51.100.2")
    statuses = Referral.objects.order_by("pk").values_list("invitee_id", "status", "held_reason")
    assert list(statuses) == [
        (first.pk, ReferralStatus.HELD, HoldReason.SAME_DEVICE),
        (second.pk, ReferralStatus.HELD, HoldReason.SAME_DEVICE),
    ]
    assert pending(inviter) == 0
    assert RiskFlag.objects.filter(user=inviter, reason=RiskReason.REFERRAL_DEVICE).count() == 1
    assert points_services.points_verify().ok


def test_friends_on_their_own_devices_are_not_held(inviter):
    for number in range(3):
        sign_up(Client(), f"friend{number}@example.com", inviter, f"198.51.100.{number + 1}")
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.APPROVED}
    assert not RiskFlag.objects.exists()
    assert pending(inviter) == 150


def test_clearing_cookies_escapes_the_device_rule(client, inviter):
    """The documented limit (0056): a new cookie is a new device; the other rules still apply."""
    sign_up(client, "first@example.com", inviter, "198.51.100.1")
    client.cookies.clear()
    sign_up(client, "second@example.com", inviter, "198.51.100.2")
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.APPROVED}
