"""Admin for members, and the staff groups' permissions on the new models."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts import services
from accounts.admin import UserAdmin
from accounts.enums import NotificationKind
from accounts.models import Address, Notification, User
from tests.factories import MemberFactory, StaffFactory


@pytest.fixture
def staff_client(client, settings, db):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    return client


def codenames(group_name: str) -> set[str]:
    return set(
        Permission.objects.filter(group__name=group_name, content_type__app_label="accounts").values_list(
            "codename", flat=True
        )
    )


def test_operators_manage_members_but_only_look_at_and_review_referrals(db):
    assert codenames("Operators") == (
        {
            f"{action}_{model}"
            for action in ("add", "change", "delete", "view")
            for model in ("user", "address", "paymentpin", "notification")
        }
        - {"delete_user"}
    ) | {"view_invitecode", "view_referral", "review_referral"} | {
        "view_identitypolicy",
        "change_identitypolicy",
        "view_emailproviderrule",
        "add_emailproviderrule",
        "change_emailproviderrule",
        "delete_emailproviderrule",
    }


def test_customer_service_can_only_look(db):
    assert codenames("Customer service") == {
        "view_user",
        "view_address",
        "view_notification",
        "view_invitecode",
        "view_referral",
    }


def test_customer_service_keeps_its_points_permissions(db):
    points = set(
        Permission.objects.filter(group__name="Customer service", content_type__app_label="points").values_list(
            "codename", flat=True
        )
    )
    assert points == {"view_account", "view_entry", "view_lot"}


def test_user_admin_is_configured_for_email_login():
    assert UserAdmin.search_fields == ("email", "display_name", "phone")
    assert UserAdmin.list_filter[:4] == ("is_staff", "is_superuser", "is_active", "date_joined")
    assert UserAdmin.ordering == ("-date_joined",)
    assert "__all__" not in str(UserAdmin.form.Meta.fields)


def test_user_changelist_searches_email_name_and_phone(staff_client):
    MemberFactory(email="findme@example.com")
    MemberFactory(display_name="Zhang San")
    MemberFactory(phone="13812345678")
    for query, expected in [("findme@", "findme@example.com"), ("Zhang", "Zhang San"), ("1381234", "13812345678")]:
        response = staff_client.get(reverse("admin:accounts_user_changelist"), {"q": query})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1
        assert expected in response.content.decode()


def test_user_change_page_renders_and_saves_a_normalised_phone(staff_client):
    member = MemberFactory()
    url = reverse("admin:accounts_user_change", args=[member.pk])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url,
        {
            "email": member.email,
            "display_name": "Edited",
            "phone": "+86 139 1234 5678",
            "language": "en",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert (member.display_name, member.phone, member.language) == ("Edited", "13912345678", "en")


def test_user_admin_refuses_an_implausible_phone(staff_client):
    member = MemberFactory()
    response = staff_client.post(
        reverse("admin:accounts_user_change", args=[member.pk]),
        {"email": member.email, "phone": "12345", "is_active": "on"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"][0].startswith("Enter a mainland China mobile number")
    member.refresh_from_db()
    assert member.phone is None


def test_adding_a_user_by_email_opens_their_points_account(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "new@example.com",
            "usable_password": "true",
            "password1": "a-Long-pass-9271",
            "password2": "a-Long-pass-9271",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.check_password("a-Long-pass-9271")
    from points import selectors as points_selectors

    assert points_selectors.header_balance(user_id=user.pk) == 0


def test_address_and_notification_admin_list_search_and_are_read_only(staff_client):
    alice = MemberFactory(email="alice@example.com")
    bob = MemberFactory(email="bob@example.com")
    services.address_create(user_id=alice.pk, recipient="A", phone="13812345678", province="P", city="C", detail="D")
    services.address_create(user_id=bob.pk, recipient="B", phone="13812345678", province="P", city="C", detail="D")
    services.notification_send(user_id=alice.pk, kind=NotificationKind.ACCOUNT, title="Hi Alice", body="")
    addresses = staff_client.get(reverse("admin:accounts_address_changelist"), {"q": "alice@"})
    assert addresses.context["cl"].result_count == 1
    notifications = staff_client.get(reverse("admin:accounts_notification_changelist"), {"q": "alice@"})
    assert notifications.context["cl"].result_count == 1
    assert staff_client.get(reverse("admin:accounts_address_add")).status_code == 403
    address = Address.objects.get(user=alice)
    before = Address.objects.filter(pk=address.pk).values().get()
    staff_client.post(reverse("admin:accounts_address_change", args=[address.pk]), {"recipient": "Changed"})
    assert Address.objects.filter(pk=address.pk).values().get() == before
    assert (
        staff_client.post(reverse("admin:accounts_address_delete", args=[address.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert Address.objects.filter(pk=address.pk).exists()
    assert (
        staff_client.get(
            reverse("admin:accounts_notification_change", args=[Notification.objects.get().pk])
        ).status_code
        == 200
    )


def test_customer_service_can_view_but_not_change_users(client, settings, db):
    settings.ADMIN_REQUIRE_MFA = False
    agent = MemberFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Customer service"))
    member = MemberFactory(display_name="Before")
    client.force_login(agent)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_address_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_notification_changelist")).status_code == 200
    response = client.post(
        reverse("admin:accounts_user_change", args=[member.pk]), {"email": member.email, "display_name": "After"}
    )
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.display_name == "Before"
