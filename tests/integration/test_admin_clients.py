"""Admin of integration clients: the secret is shown once, rotation keeps the old secret for the
overlap chosen, and only superusers (or staff given the integration permissions) manage clients."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from pointsmall.integration import selectors, vault
from pointsmall.integration.models import Client, ClientSecret, HostMember
from tests.integration.host import HostApi, make_host

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'data-testid="secret">([A-Za-z0-9_-]{43})<')


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(email="root@example.com", password="pw-123456-x")


@pytest.fixture
def operator(db):
    user = User.objects.create_user(email="op@example.com", password="pw-123456-x", is_staff=True)
    for group in Group.objects.all():
        user.groups.add(group)
    return user


def _add(client, **fields):
    data = {"name": "Shop", "allowed_ips": "", "enabled": "on", **fields}
    return client.post(reverse("admin:integration_client_add"), data)


def test_creating_a_client_shows_its_secret_once(client, superuser):
    client.force_login(superuser)
    response = _add(client, allowed_ips="203.0.113.0/24\n2001:db8::1")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    created = Client.objects.get()
    secret = SECRET.search(response.content.decode()).group(1)
    assert created.key_id in response.content.decode()
    assert created.allowed_ips == "203.0.113.0/24\n2001:db8::1"
    assert selectors.client_secrets_live(client_id=created.pk) == [secret]
    # Stored only encrypted; never on the change page or the list again.
    assert secret not in ClientSecret.objects.get().encrypted
    for url in (
        reverse("admin:integration_client_change", args=[created.pk]),
        reverse("admin:integration_client_changelist"),
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert secret not in page.content.decode()
        assert ClientSecret.objects.get().encrypted not in page.content.decode()


def test_bad_allowed_ips_are_refused_and_nothing_is_created(client, superuser):
    client.force_login(superuser)
    response = _add(client, allowed_ips="203.0.113.0/24\nnot-an-ip")
    assert response.status_code == 200
    assert "not-an-ip" in str(response.context["adminform"].form.errors["allowed_ips"])
    assert not Client.objects.exists()
    assert not ClientSecret.objects.exists()


def test_rotation_shows_the_new_secret_once_and_keeps_the_old_for_the_overlap(client, superuser):
    host = make_host()
    client.force_login(superuser)
    url = reverse("admin:integration_client_rotate", args=[host.client_id])
    assert (
        client.get(reverse("admin:integration_client_change", args=[host.client_id])).content.decode().count(url) == 1
    )
    with time_machine.travel(timezone.now(), tick=False):
        response = client.post(url, {"overlap_hours": "2"})
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        new_secret = SECRET.search(response.content.decode()).group(1)
        assert new_secret != host.secret
        rotated = HostApi(key_id=host.key_id, secret=new_secret, client_id=host.client_id, http=host.http)
        assert host.call("GET", "/ping").status_code == 200
        assert rotated.call("GET", "/ping").status_code == 200
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2, seconds=1), tick=False):
        assert host.call("GET", "/ping").status_code == 401
        assert rotated.call("GET", "/ping").status_code == 200
    page = client.get(reverse("admin:integration_client_change", args=[host.client_id])).content.decode()
    assert new_secret not in page and host.secret not in page


@pytest.mark.parametrize("hours", ["-1", "169", "x"])
def test_rotation_overlap_must_be_0_to_168_hours(client, superuser, hours):
    host = make_host()
    client.force_login(superuser)
    response = client.post(reverse("admin:integration_client_rotate", args=[host.client_id]), {"overlap_hours": hours})
    assert response.status_code == 200
    assert response.context["form"].errors["overlap_hours"]
    assert ClientSecret.objects.count() == 1
    assert [vault.unseal(s.encrypted) for s in ClientSecret.objects.all()] == [host.secret]


def test_operators_cannot_see_add_or_rotate_clients(client, operator):
    host = make_host()
    client.force_login(operator)
    assert client.get(reverse("admin:integration_client_changelist")).status_code == 403
    assert client.get(reverse("admin:integration_client_add")).status_code == 403
    assert _add(client).status_code == 403
    rotate = reverse("admin:integration_client_rotate", args=[host.client_id])
    assert client.get(rotate).status_code == 403
    assert client.post(rotate, {"overlap_hours": "0"}).status_code == 403
    assert client.get(reverse("admin:integration_hostmember_changelist")).status_code == 403
    assert Client.objects.count() == 1
    assert ClientSecret.objects.count() == 1


def test_no_staff_group_holds_an_integration_permission():
    assert not Permission.objects.filter(content_type__app_label="integration", group__isnull=False).exists()


def test_staff_given_the_permissions_explicitly_may_create_and_rotate(client, operator):
    for codename in ("view_client", "add_client", "change_client"):
        operator.user_permissions.add(Permission.objects.get(content_type__app_label="integration", codename=codename))
    client.force_login(operator)
    response = _add(client, name="Partner")
    assert response.status_code == 200
    created = Client.objects.get(name="Partner")
    assert SECRET.search(response.content.decode()).group(1) in selectors.client_secrets_live(client_id=created.pk)
    rotated = client.post(reverse("admin:integration_client_rotate", args=[created.pk]), {"overlap_hours": "0"})
    assert rotated.status_code == 200
    assert selectors.client_secrets_live(client_id=created.pk) == [SECRET.search(rotated.content.decode()).group(1)]


def test_clients_are_switched_off_not_deleted(client, superuser):
    host = make_host()
    client.force_login(superuser)
    assert client.get(reverse("admin:integration_client_delete", args=[host.client_id])).status_code == 403
    assert Client.objects.count() == 1


def test_host_members_are_listed_read_only(client, superuser):
    host = make_host()
    host.call("PUT", "/members/m-7", {"display_name": "Mia"})
    link = HostMember.objects.get()
    client.force_login(superuser)
    page = client.get(reverse("admin:integration_hostmember_changelist"))
    assert page.status_code == 200
    assert "m-7" in page.content.decode()
    assert client.get(reverse("admin:integration_hostmember_add")).status_code == 403
    change = client.post(reverse("admin:integration_hostmember_change", args=[link.pk]), {"external_id": "x"})
    assert change.status_code in (200, 403)
    link.refresh_from_db()
    assert link.external_id == "m-7"


def test_sending_the_create_form_again_creates_no_second_client(client, superuser):
    """Reloading the page that shows the secret re-posts the form: it must not act twice."""
    client.force_login(superuser)
    first = _add(client, submission="a" * 32)
    assert SECRET.search(first.content.decode())
    again = _add(client, submission="a" * 32)
    assert again.status_code == 302
    assert Client.objects.count() == 1
    assert ClientSecret.objects.count() == 1
    assert not SECRET.search(client.get(again["Location"]).content.decode())


def test_sending_the_rotate_form_again_rotates_once(client, superuser):
    host = make_host()
    client.force_login(superuser)
    url = reverse("admin:integration_client_rotate", args=[host.client_id])
    data = {"overlap_hours": "0", "submission": "b" * 32}
    first = client.post(url, data)
    new_secret = SECRET.search(first.content.decode()).group(1)
    again = client.post(url, data)
    assert again.status_code == 302
    assert selectors.client_secrets_live(client_id=host.client_id) == [new_secret]
    assert ClientSecret.objects.count() == 2
