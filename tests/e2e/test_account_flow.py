"""Issue #2's end-to-end proof: a newcomer signs up, verifies the e-mail from the link,
signs in, fills the profile, adds an address and sets a payment PIN — in real Chromium.
"""

import re

from playwright.sync_api import expect

from accounts.models import Address, PaymentPin, User

PASSWORD = "Lantern-river-2026"


def test_sign_up_verify_login_profile_address_and_pin(page, live_server, mailoutbox, shot):
    page.goto("/accounts/signup/")
    shot(page, "01-signup")
    form = page.locator("form").filter(has=page.locator("input[name=password1]"))
    form.locator("input[name=email]").fill("newcomer@example.com")
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.get_by_text("Verify Your Email Address")).to_be_visible()
    shot(page, "02-verification-sent")

    # The verification link arrives by e-mail (the console backend in the demo).
    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group(0)
    page.goto(link)
    page.locator("form button[type=submit]").click()
    # Confirming in the browser that signed up signs in (tests/e2e/test_login_on_confirm.py).
    expect(page.locator("[data-testid=header-points]")).to_be_visible()
    assert User.objects.get(email="newcomer@example.com").emailaddress_set.get().verified

    page.goto("/me/profile/")
    profile = page.locator("[data-testid=profile-form]")
    profile.locator("input[name=display_name]").fill("小明 Ming")
    profile.locator("input[name=phone]").fill("13912345678")
    profile.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    shot(page, "03-profile")

    page.goto("/me/addresses/new/")
    address = page.locator("[data-testid=address-form]")
    address.locator("input[name=recipient]").fill("王小明")
    address.locator("input[name=phone]").fill("13912345678")
    address.locator("select[name=province]").select_option("上海市")
    address.locator("select[name=city]").select_option("上海市")
    address.locator("select[name=district]").select_option("浦东新区")
    address.locator("[name=detail]").fill("世纪大道 100 号 8 楼")
    address.locator("input[name=postal_code]").fill("200120")
    address.get_by_role("button", name="Save address").click()
    expect(page.get_by_text("Address added.")).to_be_visible()
    expect(page.locator("[data-testid=address-item]")).to_have_count(1)
    shot(page, "04-addresses")

    page.goto("/me/pin/")
    pin = page.locator("[data-testid=pin-form]")
    pin.locator("input[name=pin]").fill("258046")
    pin.locator("input[name=pin_confirm]").fill("258046")
    pin.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_text("Your payment PIN is set.")).to_be_visible()
    shot(page, "05-pin")

    user = User.objects.get(email="newcomer@example.com")
    assert (user.display_name, user.phone) == ("小明 Ming", "13912345678")
    assert Address.objects.get(user=user).is_default
    assert PaymentPin.objects.filter(user=user).exists()


def test_a_wrong_pin_format_is_refused_in_the_browser(page, live_server, login, shot):
    from tests.factories import PASSWORD as MEMBER_PASSWORD
    from tests.factories import MemberFactory

    member = MemberFactory()
    login(page, member.email, MEMBER_PASSWORD)
    page.goto("/me/pin/")
    pin = page.locator("[data-testid=pin-form]")
    pin.locator("input[name=pin]").fill("12ab")
    pin.locator("input[name=pin_confirm]").fill("12ab")
    pin.get_by_role("button", name="Set PIN").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    shot(page, "pin-refused")
    assert not PaymentPin.objects.filter(user=member).exists()
