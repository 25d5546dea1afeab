"""The "Invite friends" page (/me/invite/), its QR code, and the account nav."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts import selectors, services
from accounts.models import InviteCode, Referral
from points import services as points_services
from tests.factories import MemberFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)


def invite_friend(inviter, email: str, *, confirmed: bool = True) -> None:
    friend = MemberFactory(email=email)
    services.referral_bind(invitee_id=friend.pk, code=selectors.invite_code_of(user_id=inviter.pk))
    if confirmed:
        services.referral_confirm(invitee_id=friend.pk, email=email)
    return friend


def text_of(body: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', body)
    assert match, name
    return match.group(1).strip()


def test_the_invite_page_needs_a_signed_in_member(client, db):
    for name in ("invite", "invite_qr"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_the_invite_page_shows_link_code_qr_and_rules(member_client, member):
    code = selectors.invite_code_of(user_id=member.pk)
    response = member_client.get(reverse("invite"))
    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("invite") == "/me/invite/"
    assert f'value="http://testserver/accounts/signup/?invite={code}"' in body
    assert text_of(body, "invite-code") == code
    assert f'src="{reverse("invite_qr")}"' in body
    assert (text_of(body, "invite-earned"), text_of(body, "invite-pending"), text_of(body, "invite-count")) == (
        "0",
        "0",
        "0",
    )
    assert text_of(body, "invite-month") == "0 of 20 rewarded this month"
    assert 'data-testid="invite-empty"' in body
    assert "When your friend confirms their e-mail address, you get 50 points." in body
    assert (
        "Their first purchase earns you 30 points. They stay pending until the purchase's returns window is over "
        "(7 days)." in body
    )
    assert "Up to 20 invitations a month are rewarded." in body


def test_the_page_lists_friends_masked_with_earned_and_pending_rewards(client, member):
    with time_machine.travel(T0, tick=False):
        client.force_login(member)
        buyer = invite_friend(member, "buyer@example.com")
        points_services.purchase_record(user_id=buyer.pk, external_id="P-1", amount=Decimal("10.00"))
        invite_friend(member, "waiting@example.org", confirmed=False)
        body = client.get(reverse("invite")).content.decode()
    assert (text_of(body, "invite-earned"), text_of(body, "invite-pending"), text_of(body, "invite-count")) == (
        "50",
        "30",
        "2",
    )
    friends = re.findall(r'<div class="title">([^<]+)</div>', body)
    assert friends == ["wa***@example.org", "bu***@example.com"]
    assert "buyer@example.com" not in body
    assert text_of(body, "invite-reward-signup") == "+50"
    assert text_of(body, "invite-reward-pending") == "+30"
    assert "First-purchase reward pending until 2026-12-17" in body
    assert re.findall(r'data-testid="invite-friend-status">([^<]+)<', body) == [
        "Waiting for e-mail confirmation",
        "Approved",
    ]


def test_held_invitations_are_announced_on_the_page(member_client, member, settings):
    settings.REFERRAL_IP_HOURLY_LIMIT = 1
    friend = MemberFactory()
    services.referral_bind(
        invitee_id=friend.pk, code=selectors.invite_code_of(user_id=member.pk), signup_ip="203.0.113.1"
    )
    body = member_client.get(reverse("invite")).content.decode()
    assert text_of(body, "invite-under-review") == "1 invitation is being reviewed before its rewards are paid."


def test_the_friends_list_is_paged(member_client, member):
    for number in range(21):
        invite_friend(member, f"f{number:02d}@example.com", confirmed=False)
    first = member_client.get(reverse("invite")).content.decode()
    second = member_client.get(reverse("invite"), {"page": 2}).content.decode()
    assert first.count('data-testid="invite-friend"') == 20
    assert second.count('data-testid="invite-friend"') == 1
    assert "Page 2 of 2" in second
    assert member_client.get(reverse("invite"), {"page": "x"}).status_code == 200


def test_a_member_without_a_code_gets_one_on_the_page(member_client, member):
    InviteCode.objects.filter(user=member).delete()
    body = member_client.get(reverse("invite")).content.decode()
    assert text_of(body, "invite-code") == selectors.invite_code_of(user_id=member.pk)


def test_the_qr_code_is_an_svg_of_the_invite_link(member_client, member):
    response = member_client.get(reverse("invite_qr"))
    assert reverse("invite_qr") == "/me/invite/qr.svg"
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "private" in response["Cache-Control"]
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert 'fill="white"' in svg
    assert "<path" in svg


def test_the_qr_code_encodes_the_link(member_client, member):
    """Decoding needs a QR reader we do not ship; the matrix for the link is compared instead."""
    import qrcode

    code = selectors.invite_code_of(user_id=member.pk)
    expected = qrcode.QRCode(border=2)
    expected.add_data(f"http://testserver/accounts/signup/?invite={code}")
    expected.make(fit=True)
    size = len(expected.get_matrix())
    svg = member_client.get(reverse("invite_qr")).content.decode()
    assert f'viewBox="0 0 {size} {size}"' in svg


@pytest.mark.parametrize(("url_name", "testid_name"), [("invite", "nav-invite"), ("my_tier", "nav-tier")])
def test_the_account_nav_links_invite_friends_and_my_tier(member_client, url_name, testid_name):
    body = member_client.get(reverse("account_overview")).content.decode()
    assert re.search(rf'<a href="{reverse(url_name)}"\s+data-testid="{testid_name}">', body)
    on_page = member_client.get(reverse(url_name)).content.decode()
    assert re.search(
        rf'<a href="{reverse(url_name)}" class="active" aria-current="page" data-testid="{testid_name}">', on_page
    )


def test_nothing_on_the_page_is_written_for_a_visit(member_client, member):
    member_client.get(reverse("invite"))
    member_client.get(reverse("invite_qr"))
    assert Referral.objects.count() == 0
    assert InviteCode.objects.filter(user=member).count() == 1


def test_the_friends_list_pages_ignore_nonsense(member_client):
    assert member_client.get(reverse("invite"), {"page": "999"}).status_code == 200


def test_the_pending_date_is_the_business_day(client, member):
    # 00:30 in Shanghai is still the day before in UTC.
    with time_machine.travel(datetime(2026, 12, 11, 0, 30, tzinfo=SHANGHAI), tick=False):
        client.force_login(member)
        buyer = invite_friend(member, "late@example.com")
        points_services.purchase_record(user_id=buyer.pk, external_id="P-late", amount=Decimal("10.00"))
        body = client.get(reverse("invite")).content.decode()
    assert "First-purchase reward pending until 2026-12-18" in body


def test_switched_off_invitation_rewards_are_said_to_be_paused(member_client):
    from points.models import EarningRule  # the test sets an operator's switch; the app never imports it

    EarningRule.objects.filter(source__in=["referral_signup", "referral_first_order"]).update(active=False)
    body = member_client.get(reverse("invite")).content.decode()
    assert "Invitation rewards are paused at the moment." in body
    assert "You get 0 points" not in body
