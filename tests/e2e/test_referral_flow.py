"""Invite friends in a real browser: sign up through an invite link, confirm the e-mail, see the
sign-up bonus; the inviter sees the friend (masked) with an earned and a pending reward; the
friend's "My tier" page shows the way to the next tier."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import selectors
from accounts.models import User
from points import services as points_services
from tests.factories import PASSWORD, MemberFactory

FRIEND_EMAIL = "friend.e2e@example.com"
FRIEND_PASSWORD = "plum-Orchard-walks-42"


@pytest.fixture(autouse=True)
def invite_form(settings):
    """The settings line the project uses: allauth's sign-up form with the invite code field."""
    settings.ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}


@pytest.fixture
def inviter(transactional_db):
    return MemberFactory(email="inviter.e2e@example.com", display_name="Alice 王")


def confirmation_path() -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def sign_up(page: Page) -> None:
    form = page.locator("form").filter(has=page.locator("input[name=password1]"))
    form.locator("input[name=email]").fill(FRIEND_EMAIL)
    form.locator("input[name=password1]").fill(FRIEND_PASSWORD)
    form.locator("input[name=password2]").fill(FRIEND_PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))


def test_a_friend_signs_up_through_an_invite_link_and_the_inviter_sees_the_rewards(
    page: Page, make_page, login, shot, inviter
):
    code = selectors.invite_code_of(user_id=inviter.pk)

    # The friend opens the invite link: the code is filled in, the inviter named.
    page.goto(f"/accounts/signup/?invite={code}")
    expect(page.locator("input[name=invite_code]")).to_have_value(code)
    expect(page.get_by_test_id("signup-invite-note")).to_contain_text("Alice 王 invited you.")
    shot(page, "signup-with-invite")
    sign_up(page)

    # ...confirms the e-mail address with the link from the mail, in the browser that signed up,
    # and is signed in by it (login on confirmation, decision 0061)...
    page.goto(confirmation_path())
    page.locator("form").filter(has=page.locator("button[type=submit]")).last.locator("button[type=submit]").click()
    expect(page.locator("form").filter(has=page.locator("input[name=password]"))).to_have_count(0)

    # ...and finds the sign-up bonus in the header and in the inbox.
    page.goto("/me/inbox/")
    expect(page.get_by_test_id("header-points")).to_have_text("100")
    expect(page.get_by_test_id("inbox-item").first).to_contain_text("Welcome! 100 points were added")
    shot(page, "friend-inbox")

    # The friend buys something in the shop: the inviter's reward waits out its returns window.
    friend = User.objects.get(email=FRIEND_EMAIL)
    points_services.purchase_record(user_id=friend.pk, external_id="E2E-1", amount=Decimal("88.00"))

    # The inviter signs in (own browser context) and sees the friend, masked, with both rewards.
    inviter_page = make_page()
    login(inviter_page, inviter.email, PASSWORD)
    inviter_page.goto("/me/invite/")
    expect(inviter_page.get_by_test_id("invite-code")).to_have_text(code)
    expect(inviter_page.get_by_test_id("invite-link")).to_have_value(re.compile(rf"/accounts/signup/\?invite={code}$"))
    friend_row = inviter_page.get_by_test_id("invite-friend")
    expect(friend_row).to_have_count(1)
    expect(friend_row).to_contain_text("fr***@example.com")
    expect(friend_row).not_to_contain_text(FRIEND_EMAIL)
    # Within the hour after the sign-up both rewards are pending: the sign-up one while recent
    # sign-ups are checked, the first-order one until the purchase's returns window ends.
    expect(friend_row.get_by_test_id("invite-reward-signup")).to_have_text("+50")
    expect(friend_row.get_by_test_id("invite-reward-signup")).to_have_class(re.compile(r"\bpending\b"))
    expect(friend_row.get_by_test_id("invite-reward-pending")).to_have_text("+30")
    expect(inviter_page.get_by_test_id("invite-earned")).to_have_text("0")
    expect(inviter_page.get_by_test_id("invite-pending")).to_have_text("80")
    shot(inviter_page, "inviter-invite-page-pending")
    # An hour later the sign-up reward is the inviter's; the first-order one still waits.
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        points_services.points_vest()
        inviter_page.reload()
        expect(inviter_page.get_by_test_id("invite-earned")).to_have_text("50")
        expect(inviter_page.get_by_test_id("invite-pending")).to_have_text("30")
        expect(friend_row.get_by_test_id("invite-reward-signup")).to_have_class(re.compile(r"\bplus\b"))
        expect(inviter_page.get_by_test_id("header-points")).to_have_text("50")
    qr_loaded = inviter_page.get_by_test_id("invite-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    assert qr_loaded is True
    shot(inviter_page, "inviter-invite-page")

    # The friend's "My tier" page: 100 of Silver's 1,000 (pending purchase points do not count yet).
    page.goto("/points/tier/")
    expect(page.get_by_test_id("current-tier")).to_have_text("Regular")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "10")
    expect(page.get_by_test_id("to-next-tier")).to_have_text("Earn 900 more points to reach Silver.")
    shot(page, "friend-tier")


def test_the_copy_button_copies_the_invite_link(make_page, login, inviter):
    page = make_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, inviter.email, PASSWORD)
    page.goto("/me/invite/")
    page.get_by_test_id("invite-copy").click()
    expect(page.get_by_test_id("invite-copy")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.get_by_test_id("invite-link").input_value()


def test_the_invite_page_on_a_phone(phone_page: Page, login, shot, inviter):
    login(phone_page, inviter.email, PASSWORD)
    phone_page.goto("/me/invite/")
    expect(phone_page.get_by_test_id("invite-qr")).to_be_visible()
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    shot(phone_page, "invite-phone")
