"""Keyboard only: Tab reaches every control of the home and product pages, each with a visible focus
ring, and a redemption is completed without a mouse (docs/decisions/0062-accessibility-crawl.md)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from catalog.models import Order
from tests.catalog import factories as catalog_factories
from tests.factories import PASSWORD

# Number every control a keyboard user should reach: rendered, enabled, not taken out of the tab order.
# A group of radios is one stop (arrow keys move inside it), so only its first radio is numbered.
MARK_CONTROLS = """
() => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]";
  const seen = new Set();
  let n = 0;
  for (const el of document.querySelectorAll(selector)) {
    if (el.disabled || el.closest("[inert], [aria-hidden=true]") || el.getAttribute("tabindex") === "-1") continue;
    const target = el.matches(".visually-hidden") ? (el.labels && el.labels[0]) || el.nextElementSibling : el;
    if (!target || !target.checkVisibility({visibilityProperty: true})) continue;
    const box = target.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    if (el.type === "radio") { if (seen.has(el.name)) continue; seen.add(el.name); }
    el.setAttribute("data-kbd", String(++n));
  }
  return n;
}
"""
# The focused control, and whether a focus indicator is drawn: an outline or a ring (box-shadow)
# on the control, or on the label that stands in for a visually hidden input.
FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const shown = el.matches(".visually-hidden") ? (el.labels && el.labels[0]) || el.nextElementSibling : el;
  const style = getComputedStyle(shown);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1;
  const ring = style.boxShadow !== "none";
  const label = (el.textContent || el.value || "").trim().slice(0, 40);
  return {mark: el.getAttribute("data-kbd"), visible: outline || ring,
          what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + label};
}
"""


@pytest.fixture
def shopper(db, settings, tmp_path):
    """A member with points, a PIN and an address, and a product with a picture to redeem."""
    settings.MEDIA_ROOT = tmp_path / "media"
    member = catalog_factories.make_member(points=5000)
    catalog_factories.add_address(member)
    product = catalog_factories.make_product(name_zh="保温杯", name_en="Thermos", points_price=300)
    catalog_factories.add_image(product)
    return member, product


def tab_through(page: Page) -> tuple[set[str], list[str]]:
    """Press Tab until focus leaves the page or comes back round; the marks reached, and the stops without a ring."""
    total = page.evaluate(MARK_CONTROLS)
    assert total > 5, "the page has almost no controls: wrong page?"
    reached: set[str] = set()
    invisible: list[str] = []
    first = None
    for _ in range(total + 40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            break
        key = focused["mark"] or focused["what"]
        if key == first:
            break
        first = first or key
        if focused["mark"]:
            reached.add(focused["mark"])
        if not focused["visible"]:
            invisible.append(focused["what"])
    missed = page.evaluate(
        "(reached) => [...document.querySelectorAll('[data-kbd]')].filter((el) => !reached.includes("
        "el.getAttribute('data-kbd'))).map((el) => el.outerHTML.slice(0, 120))",
        sorted(reached),
    )
    return set(missed), invisible


@pytest.mark.parametrize(
    "size", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
@pytest.mark.parametrize("where", ["home", "product"])
def test_tab_reaches_every_control_with_a_visible_focus_ring(make_page, login, shopper, size, where):
    member, product = shopper
    page = make_page(**size, mobile=size["width"] < 900)
    login(page, member.email, PASSWORD)
    page.goto(reverse("home") if where == "home" else reverse("product_detail", args=[product.pk]))
    page.wait_for_load_state("networkidle")
    missed, invisible = tab_through(page)
    assert sorted(missed) == [], "controls Tab never reached"
    assert invisible == [], "controls focused without a visible focus indicator"


def test_the_skip_link_comes_first_and_moves_focus_to_the_content(page, login, shopper):
    member, product = shopper
    login(page, member.email, PASSWORD)
    page.goto(reverse("product_detail", args=[product.pk]))
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.url.endswith("#content")


def test_a_redemption_is_completed_with_the_keyboard_alone(phone_page, login, shopper, shot):
    member, product = shopper
    page = phone_page
    login(page, member.email, PASSWORD)
    page.goto(reverse("product_detail", args=[product.pk]))
    page.wait_for_load_state("networkidle")
    # Tab to the quantity field, raise it to 2 with the arrow key, then on to the redeem button.
    focus_by_tab(page, "[data-testid=quantity]")
    page.keyboard.press("ArrowUp")
    expect(page.get_by_test_id("quantity")).to_have_value("2")
    focus_by_tab(page, "button[data-testid=redeem-button]")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm-form")).to_be_visible()
    focus_by_tab(page, "[data-testid=pin-input]")
    page.keyboard.type(catalog_factories.PIN)
    focus_by_tab(page, "[data-testid=confirm-redeem]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/mall/orders/\d+/"))
    order = Order.objects.get(member=member)
    assert (order.product_id, order.quantity, order.points_total) == (product.pk, 2, 2 * order.unit_points)
    assert order.unit_points <= 300  # the list price, or less with the member's tier discount
    shot(page, "redeemed-by-keyboard")


def focus_by_tab(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until ``selector`` has focus; fail if it never gets it."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("(el) => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached {selector}")
