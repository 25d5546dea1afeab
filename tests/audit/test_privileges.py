"""Privilege changes are recorded: whose, what, old → new, who and when (PrivilegeChange)."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import User
from pointsmall.audit.models import PrivilegeChange, PrivilegeField
from tests.factories import MemberFactory
from tests.test_admin_privileges import _form_data

NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def test_a_superuser_making_a_member_staff_in_a_group_is_recorded_with_old_and_new(client, superuser):
    member = MemberFactory(email="promoted@example.com")
    operators = Group.objects.get(name="Operators")
    client.force_login(superuser)
    url = reverse("admin:accounts_user_change", args=[member.pk])
    data = _form_data(client.get(url), User)
    data.update({"is_staff": ["on"], "groups": [str(operators.pk)], "_save": "Save"})
    with time_machine.travel(NOON, tick=False):
        assert client.post(url, data).status_code == 302

    changes = {c.field: c for c in PrivilegeChange.objects.filter(user=member)}
    assert set(changes) == {PrivilegeField.IS_STAFF, PrivilegeField.GROUPS}
    assert (changes["is_staff"].old, changes["is_staff"].new) == (False, True)
    assert (changes["groups"].old, changes["groups"].new) == ([], ["Operators"])
    for change in changes.values():
        assert change.actor == superuser
        assert change.subject == "promoted@example.com"
        assert change.created_at == NOON


def test_taking_a_group_and_superuser_status_away_is_recorded(db):
    operators = Group.objects.get(name="Operators")
    user = MemberFactory(is_staff=True, is_superuser=True)
    user.groups.add(operators)
    PrivilegeChange.objects.all().delete()

    user.groups.remove(operators)
    user.is_superuser = False
    user.save()

    groups = PrivilegeChange.objects.get(user=user, field=PrivilegeField.GROUPS)
    assert (groups.old, groups.new, groups.actor) == (["Operators"], [], None)  # no request: no actor
    flag = PrivilegeChange.objects.get(user=user, field=PrivilegeField.IS_SUPERUSER)
    assert (flag.old, flag.new) == (True, False)


def test_a_user_created_as_staff_is_recorded_and_a_plain_member_is_not(db):
    staff = MemberFactory(is_staff=True)
    MemberFactory()
    assert list(PrivilegeChange.objects.values_list("user_id", "field", "old", "new")) == [
        (staff.pk, "is_staff", False, True)
    ]


def test_permissions_cleared_set_and_given_through_a_group_are_recorded(db):
    change_product = Permission.objects.get(content_type__app_label="catalog", codename="change_product")
    view_order = Permission.objects.get(content_type__app_label="catalog", codename="view_order")
    user = MemberFactory(is_staff=True)
    user.user_permissions.set([change_product, view_order])
    user.user_permissions.clear()
    group = Group.objects.create(name="Auditors")
    group.permissions.add(view_order)
    group.user_set.add(user)  # from the group's side

    rows = list(PrivilegeChange.objects.order_by("pk").values_list("subject", "field", "old", "new"))
    email = user.email
    assert rows[1:] == [
        (email, "user_permissions", [], ["catalog.change_product", "catalog.view_order"]),
        (email, "user_permissions", ["catalog.change_product", "catalog.view_order"], []),
        ("Auditors", "group_permissions", [], ["catalog.view_order"]),
        (email, "groups", [], ["Auditors"]),
    ]


def test_a_login_or_an_unchanged_save_records_nothing(client, db):
    user = MemberFactory(is_staff=True)
    PrivilegeChange.objects.all().delete()
    user.display_name = "Renamed"
    user.save()
    client.force_login(user)  # saves last_login only
    user.groups.add()  # nothing to add
    assert not PrivilegeChange.objects.exists()


def test_emptying_a_group_from_its_side_records_each_member_who_left(db):
    group = Group.objects.create(name="Temps")
    first, second = MemberFactory(is_staff=True), MemberFactory(is_staff=True)
    group.user_set.add(first, second)
    PrivilegeChange.objects.all().delete()

    group.user_set.clear()

    rows = PrivilegeChange.objects.order_by("user_id").values_list("user_id", "field", "old", "new")
    assert list(rows) == [(first.pk, "groups", ["Temps"], []), (second.pk, "groups", ["Temps"], [])]


# --- Losses that send no m2m_changed or post_save (decision 0057) ------------------------------


def test_deleting_a_group_records_what_each_member_and_the_group_lose(db):
    view_order = Permission.objects.get(content_type__app_label="catalog", codename="view_order")
    auditors = Group.objects.create(name="Auditors")
    auditors.permissions.add(view_order)
    keeper, leaver = MemberFactory(is_staff=True), MemberFactory(is_staff=True)
    leaver.groups.add(auditors, Group.objects.get(name="Operators"))
    keeper.groups.add(Group.objects.get(name="Operators"))
    PrivilegeChange.objects.all().delete()

    auditors.delete()

    rows = list(PrivilegeChange.objects.order_by("pk").values_list("user_id", "subject", "field", "old", "new"))
    assert rows == [
        (leaver.pk, leaver.email, "groups", ["Auditors", "Operators"], ["Operators"]),
        (None, "Auditors", "group_permissions", ["catalog.view_order"], []),
    ]
    assert list(leaver.groups.values_list("name", flat=True)) == ["Operators"]


def test_deleting_groups_by_queryset_is_recorded_too(db):
    auditors = Group.objects.create(name="Auditors")
    member = MemberFactory(is_staff=True)
    member.groups.add(auditors)
    PrivilegeChange.objects.all().delete()

    Group.objects.filter(name="Auditors").delete()  # a QuerySet delete sends pre_delete per row too

    change = PrivilegeChange.objects.get(user=member)
    assert (change.field, change.old, change.new) == ("groups", ["Auditors"], [])


def test_deleting_a_permission_records_each_user_and_group_that_held_it(db):
    from django.contrib.contenttypes.models import ContentType

    permission = Permission.objects.create(
        codename="tmp_power", name="Temporary", content_type=ContentType.objects.get_for_model(User)
    )
    view_order = Permission.objects.get(content_type__app_label="catalog", codename="view_order")
    holder = MemberFactory(is_staff=True)
    holder.user_permissions.add(permission, view_order)
    group = Group.objects.create(name="Tmp")
    group.permissions.add(permission)
    PrivilegeChange.objects.all().delete()

    permission.delete()

    rows = list(PrivilegeChange.objects.order_by("pk").values_list("user_id", "group_id", "field", "old", "new"))
    assert rows == [
        (holder.pk, None, "user_permissions", ["accounts.tmp_power", "catalog.view_order"], ["catalog.view_order"]),
        (None, group.pk, "group_permissions", ["accounts.tmp_power"], []),
    ]


def test_queryset_update_of_staff_flags_is_recorded_and_unchanged_rows_are_not(db):
    staff, member, root = MemberFactory(is_staff=True), MemberFactory(), MemberFactory(is_staff=True, is_superuser=True)
    PrivilegeChange.objects.all().delete()

    assert User.objects.filter(pk__in=[staff.pk, member.pk]).update(is_staff=True) == 2
    assert User.objects.filter(pk=root.pk).update(is_superuser=False, is_staff=False, display_name="x") == 1
    User.objects.filter(pk=member.pk).update(display_name="no flag")  # no privilege field: nothing

    rows = list(PrivilegeChange.objects.order_by("pk").values_list("user_id", "subject", "field", "old", "new"))
    assert rows == [
        (member.pk, member.email, "is_staff", False, True),
        (root.pk, root.email, "is_staff", True, False),
        (root.pk, root.email, "is_superuser", True, False),
    ]


def test_bulk_update_and_expression_updates_of_flags_are_recorded(db):
    from django.db.models import Q, Value
    from django.db.models.functions import Coalesce

    first, second = MemberFactory(), MemberFactory(is_staff=True)
    PrivilegeChange.objects.all().delete()
    first.is_staff, second.is_staff = True, False
    User.objects.bulk_update([first, second], ["is_staff"])
    User.objects.filter(Q(pk=first.pk)).update(is_superuser=Coalesce("is_staff", Value(False)))

    rows = list(PrivilegeChange.objects.order_by("pk").values_list("user_id", "field", "old", "new"))
    assert rows == [
        (first.pk, "is_staff", False, True),
        (second.pk, "is_staff", True, False),
        (first.pk, "is_superuser", False, True),
    ]


def test_bulk_create_of_staff_or_superusers_is_recorded(db):
    """``bulk_create`` sends no post_save: a superuser made that way left no record."""
    User.objects.bulk_create(
        [
            User(email="bulk-root@example.com", is_staff=True, is_superuser=True),
            User(email="bulk-member@example.com"),
        ]
    )
    root = User.objects.get(email="bulk-root@example.com")
    rows = list(PrivilegeChange.objects.order_by("pk").values_list("user_id", "subject", "field", "old", "new"))
    assert rows == [
        (root.pk, "bulk-root@example.com", "is_staff", False, True),
        (root.pk, "bulk-root@example.com", "is_superuser", False, True),
    ]


def test_a_flag_update_in_an_admin_request_names_the_actor(client, db):
    from tests.factories import StaffFactory

    root = StaffFactory(email="root2@staff.example.com")
    target = MemberFactory(is_staff=True)
    PrivilegeChange.objects.all().delete()
    client.force_login(root)
    url = reverse("admin:accounts_user_changelist")
    # The user admin's own bulk action, if any, runs in a request; emulate with the request context.
    from simple_history.models import HistoricalRecords

    request = client.get(url).wsgi_request
    HistoricalRecords.context.request = request
    try:
        User.objects.filter(pk=target.pk).update(is_staff=False)
    finally:
        del HistoricalRecords.context.request
    change = PrivilegeChange.objects.get(user=target)
    assert (change.actor_id, change.old, change.new) == (root.pk, True, False)
