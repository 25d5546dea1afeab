"""The purchases CSV import in the admin: upload → preview (writes nothing) → confirm (the
same report as the command), for staff who may add purchases only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from points.admin_import import SIGNING_SALT
from points.models import Purchase
from tests.commands_cli import row_counts
from tests.factories import MemberFactory, StaffFactory

URL = "/admin/points/purchase/import/"


@pytest.fixture
def staff_client(client, db):
    client.force_login(StaffFactory())
    return client


def upload(member) -> SimpleUploadedFile:
    future = (timezone.now() + timedelta(days=3)).isoformat()
    text = (
        "order_id,member_email,amount,purchased_at,sku,category\n"
        f"W-1,{member.email},88.80,,,\n"
        f"W-2,{member.email},10,{future},,\n"
        f"W-3,nobody@example.com,10,,,\n"
    )
    return SimpleUploadedFile("purchases.csv", text.encode(), content_type="text/csv")


def test_the_url_is_the_admins(db):
    assert reverse("admin:points_purchase_import") == URL


def test_preview_lists_each_row_with_its_reason_and_writes_nothing(staff_client, member):
    before = row_counts()

    response = staff_client.post(URL, {"file": upload(member), "preview": "1"})

    assert response.status_code == 200
    assert row_counts() == before
    report = response.context["report"]
    assert (report.accepted, report.duplicates) == (["W-1"], [])
    assert report.rejected == [
        (3, "W-2", "The purchase is not valid: purchased_at is in the future"),
        (4, "W-3", "The purchase is not valid: no member with the e-mail nobody@example.com"),
    ]
    page = response.content.decode()
    assert "Preview: nothing has been imported yet" in page
    assert "1 to import, 0 already imported, 2 rejected." in page
    assert "purchased_at is in the future" in page
    assert 'name="confirm"' in page


def test_confirm_imports_what_was_previewed_and_shows_the_same_report(staff_client, member):
    preview = staff_client.post(URL, {"file": upload(member), "preview": "1"})
    payload = preview.context["confirm"].initial["payload"]

    response = staff_client.post(URL, {"payload": payload, "confirm": "1"})

    assert response.status_code == 200
    assert list(Purchase.objects.values_list("external_id", flat=True)) == ["W-1"]
    assert "Accepted 1, duplicates 0, rejected 2." in response.content.decode()
    again = staff_client.post(URL, {"payload": payload, "confirm": "1"})
    assert again.context["report"].duplicates == ["W-1"]
    assert Purchase.objects.count() == 1


def test_a_tampered_confirmation_is_refused_and_writes_nothing(staff_client, member):
    staff_client.post(URL, {"file": upload(member), "preview": "1"})
    forged = signing.dumps(f"order_id,member_email,amount\nX-1,{member.email},999\n", salt="another salt")
    before = row_counts()

    response = staff_client.post(URL, {"payload": forged, "confirm": "1"})

    assert response.status_code == 302
    assert row_counts() == before
    page = staff_client.get(response.url).content.decode()
    assert "This preview is not valid: upload the file again." in page


def test_a_file_without_the_columns_is_refused_on_the_form(staff_client):
    bad = SimpleUploadedFile("x.csv", b"id,email\n1,a@b.c\n", content_type="text/csv")

    response = staff_client.post(URL, {"file": bad, "preview": "1"})

    assert response.context["report"] is None
    assert "missing columns: order_id, member_email, amount" in response.content.decode()


def test_staff_without_the_add_purchase_permission_get_no_page_and_no_link(client, member):
    viewer = MemberFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_purchase"))
    client.force_login(viewer)
    payload = signing.dumps(f"order_id,member_email,amount\nV-1,{member.email},5\n", salt=SIGNING_SALT)

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"payload": payload, "confirm": "1"}).status_code == 403
    assert Purchase.objects.count() == 0
    changelist = client.get("/admin/points/purchase/")
    assert changelist.status_code == 200
    assert URL not in changelist.content.decode()


def test_the_changelist_links_to_the_import_for_those_who_may(staff_client):
    assert URL in staff_client.get("/admin/points/purchase/").content.decode()


def test_a_file_longer_than_a_page_import_takes_is_refused_and_writes_nothing(staff_client, member):
    """The confirm runs in one web request: a file it could not finish in time is sent to the CLI."""
    rows = "".join(f"R-{n},{member.email},1,,,\n" for n in range(301))
    big = SimpleUploadedFile("big.csv", ("order_id,member_email,amount,purchased_at,sku,category\n" + rows).encode())
    before = row_counts()

    response = staff_client.post(URL, {"file": big, "preview": "1"})

    assert response.context["report"] is None
    assert "The file has 301 rows; a page import takes at most 300." in response.content.decode()
    assert row_counts() == before
