"""The "My account" page: who you are, your points, and the way to every account page."""

from __future__ import annotations

from django.urls import reverse

from accounts import services
from accounts.enums import NotificationKind
from accounts.models import User
from points import services as points_services

URL = reverse("account_overview")


def test_overview_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_new_member_sees_what_is_still_to_do(member_client, member):
    response = member_client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert member.email in body
    assert 'data-testid="points-summary"' in body
    assert "No unread messages" in body
    assert "No address yet" in body
    assert "Not set" in body
    assert "No display name yet" in body
    for name in [
        "profile",
        "address_list",
        "pin_manage",
        "inbox",
        "account_change_password",
        "mfa_index",
        "account_email",
    ]:
        assert f'href="{reverse(name)}"' in body, name
    assert "Turn on" in body


def test_a_set_up_member_sees_their_state(member_client, member):
    User.objects.filter(pk=member.pk).update(display_name="Alice 王", phone="13812345678")
    points_services.points_earn(user_id=member.pk, amount=321, idempotency_key="e")
    services.address_create(
        user_id=member.pk,
        recipient="Alice",
        phone="13812345678",
        province="浙江省",
        city="杭州市",
        detail="文三路 1 号",
    )
    services.pin_set(user_id=member.pk, pin="135790")
    for title in ("a", "b", "c"):
        services.notification_send(user_id=member.pk, kind=NotificationKind.ACCOUNT, title=title, body="")
    response = member_client.get(URL)
    body = response.content.decode()
    assert response.context["summary"].available == 321
    assert "Alice 王" in body
    assert "138****5678" in body
    assert "3 unread" in body
    assert "1 address · Default: Alice, 杭州市" in body
    assert 'badge-ok">Set<' in body
    assert response.context["unread_count"] == 3
    assert response.context["address_count"] == 1


def test_the_overview_only_shows_the_members_own_data(member_client, other_member):
    User.objects.filter(pk=other_member.pk).update(display_name="Someone Else")
    services.notification_send(user_id=other_member.pk, kind=NotificationKind.ACCOUNT, title="x", body="")
    services.address_create(
        user_id=other_member.pk, recipient="Bob", phone="13912345678", province="北京市", city="北京市", detail="1 号"
    )
    response = member_client.get(URL)
    assert response.context["unread_count"] == 0
    assert response.context["address_count"] == 0
    assert "Someone Else" not in response.content.decode()


def test_the_account_nav_links_every_account_page(member_client):
    body = member_client.get(reverse("my_points")).content.decode()
    for name in ["account_overview", "profile", "address_list", "pin_manage", "inbox", "account_email", "mfa_index"]:
        assert f'href="{reverse(name)}"' in body, name
