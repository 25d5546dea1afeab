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
    assert 'data-testid="member-card"' in body
    assert 'data-testid="grid-unread"' not in body
    assert 'ig-badge ig-warn">None yet<' in body  # no address
    assert 'ig-badge ig-warn">Not set<' in body  # no PIN
    # Sign-out is a real button on the page, not only the footer's link.
    assert 'data-testid="me-sign-out"' in body
    for name in [
        "my_points",
        "my_tier",
        "notification_preferences",
        "invite",
        "feedback",
        "data_export",
        "account_delete",
        "order_list",
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
    assert 'data-testid="available-points">321<' in body
    assert 'data-testid="grid-unread">3 unread<' in body
    assert "None yet" not in body and "Not set" not in body
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


def test_the_member_card_groups_the_balance_and_names_the_next_expiry(member_client, member):
    points_services.points_earn(user_id=member.pk, amount=12345, idempotency_key="big")

    en = member_client.get(URL).content.decode()
    zh = member_client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert 'data-testid="available-points">12,345<' in en
    assert 'data-testid="available-points">12,345<' in zh  # grouped in Chinese too
    assert 'data-testid="member-card-tier"' in en


def test_the_order_row_counts_each_state_and_links_its_filtered_list(client, db):
    from tests.catalog.factories import delivered_order, make_member, make_product, redeem

    member = make_member(points=5000)  # with a payment PIN and an address
    client.force_login(member)
    redeem(member, make_product(points_price=100))  # to ship
    redeem(member, make_product(points_price=100))  # to ship
    delivered_order(member)  # to receive

    body = client.get(URL).content.decode()

    order_list = reverse("order_list")
    for tab, count in (("to_ship", 2), ("to_receive", 1)):
        assert f'href="{order_list}?status={tab}" data-testid="order-status-{tab}">' in body
        block = body.split(f'data-testid="order-status-{tab}">', 1)[1].split("</a>", 1)[0]
        assert f'data-testid="order-status-count">{count}<' in block
    for tab in ("to_pay", "to_review", "refund"):
        block = body.split(f'data-testid="order-status-{tab}">', 1)[1].split("</a>", 1)[0]
        assert "order-status-count" not in block
