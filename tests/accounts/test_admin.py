"""Admin for members, and the staff groups' permissions on the new models."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts import services
from accounts.admin import UserAdmin
from accounts.enums import NotificationKind
from accounts.models import Address, Notification, User
from pointsmall.kernel.masking import mask_email
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
    ) | {"view_invitecode", "view_referral", "review_referral", "view_riskflag", "freeze_account"} | {
        "view_identitypolicy",
        "change_identitypolicy",
        "view_emailproviderrule",
        "add_emailproviderrule",
        "change_emailproviderrule",
        "delete_emailproviderrule",
    } | {
        "unmask_pii",  # operators ship: they may reveal an address, audited (decision 0057)
        "view_delivery",
        "resend_delivery",
        "view_notificationpreference",
        "view_messagetemplate",
        "add_messagetemplate",
        "change_messagetemplate",
        "delete_messagetemplate",
    }


def test_customer_service_can_only_look(db):
    assert codenames("Customer service") == {
        "view_user",
        "view_address",
        "view_notification",
        "view_invitecode",
        "view_referral",
        "view_delivery",
        "view_notificationpreference",
        "view_messagetemplate",
    }


def test_customer_service_keeps_its_points_permissions(db):
    points = set(
        Permission.objects.filter(group__name="Customer service", content_type__app_label="points").values_list(
            "codename", flat=True
        )
    )
    assert points == {"view_account", "view_entry", "view_lot", "view_accountfreeze"}


def test_user_admin_is_configured_for_email_login():
    assert UserAdmin.search_fields == ("email", "display_name", "=phone")
    assert UserAdmin.list_filter[:4] == ("is_staff", "is_superuser", "is_active", "date_joined")
    assert UserAdmin.ordering == ("-date_joined",)
    assert "__all__" not in str(UserAdmin.form.Meta.fields)


def test_user_changelist_searches_email_name_and_phone(staff_client):
    MemberFactory(email="findme@example.com")
    MemberFactory(display_name="Zhang San")
    MemberFactory(phone="13812345678")
    # Found by the full value (the phone only in full: a part would spell out the masked digits), listed masked (0057).
    for query, expected in [("findme@", "fi***@example.com"), ("Zhang", "Zhang San"), ("13812345678", "138****5678")]:
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

    assert points_selectors.spendable_balance(user_id=user.pk) == 0


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


# --- Only superusers grant privileges; other staff edit members' service fields ---------------


def staff_in(group: str, **fields) -> User:
    user = MemberFactory(is_staff=True, **fields)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def operator(db) -> User:
    return staff_in("Operators")


@pytest.fixture
def operator_client(client, settings, operator):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(operator)
    return client


def privileges(user: User) -> tuple:
    user.refresh_from_db()
    return (
        user.is_superuser,
        user.is_staff,
        user.is_active,
        user.email,
        user.password,
        set(user.groups.all()),
        set(user.user_permissions.all()),
    )


ALL_OF_IT = {
    "is_superuser": "on",
    "is_staff": "on",
    "is_active": "on",
    "date_joined_0": "2026-01-01",
    "date_joined_1": "10:00:00",
}


def test_an_operator_cannot_make_themselves_superuser(operator_client, operator):
    """The issue's example: POST /admin/accounts/user/<own id>/change/ with is_superuser=on."""
    before = privileges(operator)
    response = operator_client.post(
        reverse("admin:accounts_user_change", args=[operator.pk]),
        {
            **ALL_OF_IT,
            "email": operator.email,
            "groups": [g.pk for g in Group.objects.all()],
            "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 403
    assert privileges(operator) == before
    assert operator.is_superuser is False


def test_an_operator_cannot_change_a_superusers_password_or_account(operator_client):
    root = StaffFactory()
    before = privileges(root)
    password_url = reverse("admin:auth_user_password_change", args=[root.pk])
    assert operator_client.get(password_url).status_code == 403
    response = operator_client.post(
        password_url, {"usable_password": "true", "password1": "Take-0ver-now!", "password2": "Take-0ver-now!"}
    )
    assert response.status_code == 403
    response = operator_client.post(
        reverse("admin:accounts_user_change", args=[root.pk]), {**ALL_OF_IT, "email": "mine@example.com"}
    )
    assert response.status_code == 403
    assert privileges(root) == before


def test_an_operator_sees_a_staff_account_read_only_without_its_privileges(operator_client):
    colleague = staff_in("Customer service", display_name="Li Lei")
    response = operator_client.get(reverse("admin:accounts_user_change", args=[colleague.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Staff accounts can be changed only by a superuser." in body
    assert "Li Lei" in body
    assert response.context["adminform"].form.fields == {}
    for name in ("is_superuser", "is_staff", "groups", "user_permissions", "password"):
        assert f'name="{name}"' not in body
        assert f"field-{name}" not in body


def test_an_operator_edits_a_members_service_fields_and_nothing_else(operator_client):
    member = MemberFactory(display_name="Before", phone="13812345678")
    before = privileges(member)
    url = reverse("admin:accounts_user_change", args=[member.pk])
    form = operator_client.get(url).context["adminform"].form
    assert set(form.fields) == {"display_name", "language", "is_active"}
    response = operator_client.post(
        url,
        {
            "display_name": "After",
            "language": "en",
            # is_active left out: the checkbox is cleared, the member is blocked
            "email": "taken-over@example.com",
            "phone": "13900000000",
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [g.pk for g in Group.objects.all()],
            "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert (member.display_name, member.language, member.is_active, member.phone) == (
        "After",
        "en",
        False,
        "13812345678",
    )
    after = privileges(member)
    assert after[:2] == before[:2]
    assert after[3:] == before[3:]


def test_only_superusers_set_a_members_password(operator_client, client):
    member = MemberFactory()
    before = privileges(member)
    url = reverse("admin:auth_user_password_change", args=[member.pk])
    assert operator_client.get(url).status_code == 403
    data = {"usable_password": "true", "password1": "a-New-pass-6613", "password2": "a-New-pass-6613"}
    assert operator_client.post(url, data).status_code == 403
    assert privileges(member) == before
    client.force_login(StaffFactory())
    assert client.post(url, data).status_code == 302
    member.refresh_from_db()
    assert member.check_password("a-New-pass-6613")


def test_an_operator_adds_members_but_never_staff(operator_client):
    response = operator_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "walk-in@example.com",
            "usable_password": "true",
            "password1": "a-Long-pass-9271",
            "password2": "a-Long-pass-9271",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [Group.objects.get(name="Operators").pk],
        },
    )
    assert response.status_code == 302
    created = User.objects.get(email="walk-in@example.com")
    assert (created.is_staff, created.is_superuser, list(created.groups.all())) == (False, False, [])


def test_other_staff_neither_see_nor_filter_by_privileges(operator_client):
    root = StaffFactory(email="root@example.com")
    url = reverse("admin:accounts_user_changelist")
    response = operator_client.get(url)
    assert response.status_code == 200
    assert "is_staff" not in response.context["cl"].list_display
    assert [f.title for f in response.context["cl"].filter_specs] == ["active", "date joined"]
    assert operator_client.get(url, {"is_superuser__exact": "1"}).status_code == 400
    assert operator_client.get(url, {"groups__id__exact": "1"}).status_code == 400
    assert mask_email(root.email) in response.content.decode()  # listed, masked (decision 0057)


def test_even_with_delete_permission_other_staff_cannot_delete_a_staff_account(operator_client, operator, rf):
    from django.contrib import admin
    from django.core.exceptions import PermissionDenied

    operator.user_permissions.add(Permission.objects.get(codename="delete_user"))
    colleague = staff_in("Customer service")
    member = MemberFactory()
    delete = reverse("admin:accounts_user_delete", args=[colleague.pk])
    assert operator_client.post(delete, {"post": "yes"}).status_code == 403
    operator_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [colleague.pk, member.pk], "post": "yes"},
    )
    assert User.objects.filter(pk__in=[colleague.pk, member.pk]).count() == 2
    # The bulk delete's last step refuses too, should a future model stop protecting users.
    request = rf.post("/")
    request.user = User.objects.get(pk=operator.pk)
    with pytest.raises(PermissionDenied):
        admin.site._registry[User].delete_queryset(request, User.objects.filter(pk__in=[colleague.pk, member.pk]))
    assert User.objects.filter(pk__in=[colleague.pk, member.pk]).count() == 2


def test_a_superuser_makes_a_member_an_operator(client, settings, db):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    member = MemberFactory()
    operators = Group.objects.get(name="Operators")
    response = client.post(
        reverse("admin:accounts_user_change", args=[member.pk]),
        {**ALL_OF_IT, "is_superuser": "", "email": member.email, "groups": [operators.pk]},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert (member.is_staff, member.is_superuser, list(member.groups.all())) == (True, False, [operators])


def test_other_staff_cannot_change_block_or_delete_a_shop_staff_account(operator_client, operator, rf):
    # The coupon desk is in "Shop staff" without is_staff: any back-office role counts (issue #13).
    from django.contrib import admin
    from django.core.exceptions import PermissionDenied

    operator.user_permissions.add(Permission.objects.get(codename="delete_user"))
    desk = MemberFactory(display_name="Desk")
    desk.groups.add(Group.objects.get_or_create(name="Shop staff")[0])
    before = privileges(desk)
    url = reverse("admin:accounts_user_change", args=[desk.pk])
    response = operator_client.get(url)
    assert response.status_code == 200
    assert "Staff accounts can be changed only by a superuser." in response.content.decode()
    assert response.context["adminform"].form.fields == {}
    response = operator_client.post(url, {"display_name": "Changed", "language": "en"})
    assert response.status_code == 403
    assert privileges(desk) == before
    assert User.objects.get(pk=desk.pk).display_name == "Desk"
    assert (
        operator_client.post(reverse("admin:accounts_user_delete", args=[desk.pk]), {"post": "yes"}).status_code == 403
    )
    request = rf.post("/")
    request.user = User.objects.get(pk=operator.pk)
    with pytest.raises(PermissionDenied):
        admin.site._registry[User].delete_queryset(request, User.objects.filter(pk=desk.pk))
    assert User.objects.filter(pk=desk.pk).exists()
