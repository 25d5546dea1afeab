"""Issue #16's privacy flow in Chromium: a member signs in, downloads their data (a JSON file
with their orders and ledger), deletes the account (password and typed e-mail; the page says how
many points are forfeited), is signed out, cannot sign in again, and the ledger still adds up."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from accounts.models import User
from catalog.models import Order
from points import selectors as points_selectors
from points import services as points_services
from tests.catalog.factories import add_address, make_member, make_product, redeem
from tests.factories import PASSWORD


def test_export_then_delete_the_account_in_the_browser(page, live_server, login, shot, tmp_path):
    member = make_member(points=900)  # with a payment PIN, for the redemption
    order = redeem(member, make_product(points_price=300, stock=5), address_id=add_address(member))
    left = 900 - order.points_total
    assert left > 0 and points_selectors.forfeitable_points(user_id=member.pk) == left

    login(page, member.email, PASSWORD)
    page.goto("/me/data/")
    with page.expect_download() as download_info:
        page.locator("[data-testid=export-form] button[type=submit]").click()
    download = download_info.value
    assert download.suggested_filename.startswith("points-mall-my-data-")
    assert download.suggested_filename.endswith(".json")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["profile"]["email"] == member.email
    assert [row["id"] for row in data["orders"]] == [order.pk]
    assert sorted(row["amount"] for row in data["ledger"]) == [-order.points_total, 900]
    assert data["points"]["balance"] == left

    page.goto("/me/delete/")
    expect(page.locator("[data-testid=forfeit-warning]")).to_contain_text(f"{left} points")
    shot(page, "01-delete-page")
    form = page.locator("[data-testid=delete-form]")
    # A wrong confirmation is refused with a message and deletes nothing.
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("input[name=confirmation]").fill("someone-else@example.com")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=delete-form] .errorlist")).to_be_visible()
    assert User.objects.get(pk=member.pk).deleted_at is None

    form = page.locator("[data-testid=delete-form]")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("input[name=confirmation]").fill(member.email)
    form.locator("button[type=submit]").click()
    expect(page.locator(".header-user form[action='/accounts/logout/']")).to_have_count(0)
    shot(page, "02-deleted")

    email = member.email
    member.refresh_from_db()
    assert member.deleted_at is not None and not member.is_active
    assert Order.objects.get(pk=order.pk).status == "cancelled"  # not shipped yet: cancelled
    page.goto("/points/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/points/")

    # Signing in again with the old address and password fails.
    form = page.locator("form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator(".errorlist, .alert").first).to_be_visible()
    expect(page.locator(".header-user form[action='/accounts/logout/']")).to_have_count(0)
    shot(page, "03-cannot-sign-in")

    report = points_services.points_verify()
    assert report.ok, report
    assert points_selectors.forfeitable_points(user_id=member.pk) == 0
