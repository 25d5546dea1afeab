"""Every member page fits a 360 px phone in both languages and runs under the Content-Security-Policy.

A page that scrolls sideways on a phone is broken for the member holding it; a page that
needs an inline script or a foreign origin breaks the moment the policy is enforced. Both
are measured in real Chromium, page by page, with data that stretches layouts (a long
e-mail address, a tier-locked product, orders in several states).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from tests.catalog import factories as catalog_factories
from tests.factories import PASSWORD, MemberFactory

PHONE_360 = {"width": 360, "height": 780}
# Collect every CSP violation the page reports, from its first script on.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
"""
# What sticks out past the viewport: the element and how far, for a readable failure.
OVERFLOW_PROBE = """
() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && getComputedStyle(el).position !== "fixed") {
      let inScroller = false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const ox = getComputedStyle(p).overflowX;
        if (ox === "auto" || ox === "scroll" || ox === "hidden") { inScroller = true; break; }
      }
      const over = Math.round(box.right - width);
      if (!inScroller) wide.push(el.tagName.toLowerCase() + "." + el.className + " +" + over + "px");
    }
  }
  return {scroll: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 5)};
}
"""


@pytest.fixture
def stretched_member(db):
    """A member whose data stretches every layout: a long e-mail, orders, a tier-locked item to look at."""
    member = MemberFactory(email="a.really.quite.long.member.address.for.layout@example-enterprise-mail.com")
    catalog_factories.give_points(member, 20_000)
    from accounts import services as accounts_services

    accounts_services.pin_set(user_id=member.pk, pin=catalog_factories.PIN)
    product = catalog_factories.make_product(
        name_en="Insulated stainless steel travel mug with a very long English name", points_price=800
    )
    locked = catalog_factories.make_product(name_en="Diamond members' exclusive lounge pass", min_tier_rank=4)
    order = catalog_factories.redeem(member, product)
    return {"member": member, "product": product, "locked": locked, "order": order}


def _member_urls(data) -> list[str]:
    return [
        reverse("home"),
        reverse("product_list"),
        reverse("product_detail", args=[data["product"].pk]),
        reverse("product_detail", args=[data["locked"].pk]),
        reverse("order_list"),
        reverse("order_detail", args=[data["order"].pk]),
        reverse("my_points"),
        reverse("my_tier"),
        reverse("rules"),
        reverse("account_overview"),
        reverse("profile"),
        reverse("address_list"),
        reverse("address_create"),
        reverse("pin_manage"),
        reverse("inbox"),
        reverse("invite"),
        reverse("account_email"),
        reverse("account_change_password"),
        reverse("mfa_index"),
    ]


def _check(page: Page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("load")
    problems = []
    measured = page.evaluate(OVERFLOW_PROBE)
    if measured["scroll"] > measured["width"]:
        problems.append(f"{url}: scrolls sideways ({measured['scroll']} > {measured['width']}): {measured['wide']}")
    violations = page.evaluate("window.__cspViolations || []")
    if violations:
        problems.append(f"{url}: CSP violations {violations}")
    return problems


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_no_member_page_scrolls_sideways_at_360px_or_breaks_the_csp(make_page, login, stretched_member, locale):
    page = make_page(**PHONE_360, mobile=True, locale=locale)
    page.add_init_script(CSP_RECORDER)
    login(page, stretched_member["member"].email, PASSWORD)
    problems = [problem for url in _member_urls(stretched_member) for problem in _check(page, url)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_no_public_page_scrolls_sideways_at_360px_or_breaks_the_csp(make_page, db, locale):
    product = catalog_factories.make_product(name_en="A product with a rather long English name for phones")
    page = make_page(**PHONE_360, mobile=True, locale=locale)
    page.add_init_script(CSP_RECORDER)
    urls = [
        reverse("home"),
        reverse("product_list"),
        reverse("product_detail", args=[product.pk]),
        reverse("rules"),
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
        "/no-such-page/",
    ]
    problems = [problem for url in urls for problem in _check(page, url)]
    assert problems == [], "\n".join(problems)


def test_the_csp_recorder_catches_an_inline_script(make_page, db):
    """The check above can fail: an inline script injected into a page is reported as a violation."""
    page = make_page(**PHONE_360)
    page.add_init_script(CSP_RECORDER)
    page.goto(reverse("rules"))
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None


def test_a_40_character_display_name_takes_two_lines_of_the_member_card_at_most(make_page, login, db):
    """The longest display name allowed (40 characters, no spaces to break at) is cut to two lines
    with an ellipsis, not stacked ten lines high over the card; the whole name is its title."""
    member = MemberFactory(display_name="张" * 40)
    page = make_page(**PHONE_360, mobile=True, locale="zh-CN")
    login(page, member.email, PASSWORD)
    page.goto(reverse("account_overview"))
    name = page.locator(".member-card h1")
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.member-card h1')).lineHeight)")
    assert name.bounding_box()["height"] <= 2 * line + 1
    assert name.get_attribute("title") == "张" * 40
