"""Issue #17: confirming the e-mail signs the newcomer in, in the browser that signed up; a link
opened in another browser confirms the address but signs nobody in (docs/decisions/0061)."""

import re

from playwright.sync_api import expect

from accounts.models import User

PASSWORD = "Lantern-river-2026"


def _sign_up(page, email: str) -> None:
    page.goto("/accounts/signup/")
    form = page.locator("form").filter(has=page.locator("input[name=password1]"))
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.get_by_text("Verify Your Email Address")).to_be_visible()


def _link(mailoutbox) -> str:
    assert len(mailoutbox) == 1
    return re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group(0)


def test_confirming_in_the_same_browser_signs_in(page, live_server, mailoutbox, shot):
    _sign_up(page, "confirmer@example.com")
    page.goto(_link(mailoutbox))
    page.locator("form button[type=submit]").click()
    # Signed in on the home page, not on an empty sign-in form.
    expect(page.locator("[data-testid=header-points]")).to_be_visible()
    assert "/accounts/login/" not in page.url
    shot(page, "signed-in-after-confirm")
    assert User.objects.get(email="confirmer@example.com").emailaddress_set.get().verified


def test_a_link_opened_in_another_browser_confirms_but_does_not_sign_in(make_page, live_server, mailoutbox, shot):
    signup_page = make_page()
    _sign_up(signup_page, "elsewhere@example.com")
    other = make_page()
    other.goto(_link(mailoutbox))
    other.locator("form button[type=submit]").click()
    expect(other).to_have_url(re.compile(r"/accounts/login/"))
    expect(other.locator("[data-testid=header-points]")).to_have_count(0)
    expect(other.get_by_text("You have confirmed elsewhere@example.com")).to_be_visible()
    shot(other, "confirmed-elsewhere")
    assert User.objects.get(email="elsewhere@example.com").emailaddress_set.get().verified
