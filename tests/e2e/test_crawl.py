"""The crawl: every page a visitor or a member opens, at 360, 390 and 1280 px, in Chinese and English.

On every page, measured in real Chromium over the demo's data (``seed_demo``, signed in as its
first member): no sideways scroll, no serious or critical axe-core violation, and, in Chinese,
no text left in English. Every page is saved as a screenshot under
test-results/e2e/test_every_page_at_every_width_in_both_languages/, and the full axe report
(moderate and minor findings too) as axe-report.json beside them.

The pages come from tests/security/routes.py: every PUBLIC or MEMBER route is either in
``PAGES`` (crawled, with its parameters filled from the member's real objects) or in
``NOT_CRAWLED`` with the reason; a new route in neither fails the first test below.
The rules, the allow-list and why only serious and critical fail: docs/decisions/0062-accessibility-crawl.md.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.conftest import E2E_DIR
from tests.e2e.test_layout_and_policy import OVERFLOW_PROBE
from tests.security.routes import ROUTES, Kind, url_for

AXE_JS = E2E_DIR / "vendor" / "axe-core-4.14.1" / "axe.min.js"
PHONE_WIDTHS, DESKTOP_WIDTH = (360, 390), 1280
LANGUAGES = {"zh-hans": "zh-CN", "en": "en"}
# axe runs at every width the issue names: a few rules differ at 360 px (max-width: 380px
# queries for the header and the phone grids), so 390 px does not stand for it.
AXE_WIDTHS = (360, 390, 1280)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}
ALICE = "alice@example.com"
PASSWORD = "demo-points-2026"


@dataclass(frozen=True)
class Crawled:
    """A page of the crawl: opened signed in, signed out or both; its parameters filled from the demo's objects."""

    signed_in: bool = True
    signed_out: bool = False
    kwargs: Callable[[dict], dict] | None = None


PAGES: dict[str, Crawled] = {
    # Public: opened signed out and signed in (the sign-in and sign-up pages only signed out).
    "": Crawled(signed_out=True),
    "rules/": Crawled(signed_out=True),
    "privacy/": Crawled(signed_out=True),
    "mall/": Crawled(signed_out=True),
    "mall/products/": Crawled(signed_out=True),
    "mall/products/<int:pk>/": Crawled(signed_out=True, kwargs=lambda o: {"pk": o["product"]}),
    "lottery/": Crawled(signed_out=True),
    "lottery/<int:campaign_id>/": Crawled(signed_out=True, kwargs=lambda o: {"campaign_id": o["campaign"]}),
    "lottery/<int:campaign_id>/verify/": Crawled(signed_out=True, kwargs=lambda o: {"campaign_id": o["campaign"]}),
    "announcements/<int:pk>/": Crawled(signed_out=True, kwargs=lambda o: {"pk": o["announcement"]}),
    "accounts/login/": Crawled(signed_in=False, signed_out=True),
    "accounts/signup/": Crawled(signed_in=False, signed_out=True),
    "accounts/password/reset/": Crawled(signed_in=False, signed_out=True),
    "accounts/password/reset/done/": Crawled(signed_in=False, signed_out=True),
    # The member's.
    "me/": Crawled(),
    "me/profile/": Crawled(),
    "me/profile/phone/": Crawled(),
    "me/addresses/": Crawled(),
    "me/addresses/new/": Crawled(),
    "me/addresses/<int:pk>/edit/": Crawled(kwargs=lambda o: {"pk": o["address"]}),
    "me/addresses/<int:pk>/delete/": Crawled(kwargs=lambda o: {"pk": o["address"]}),
    "me/pin/": Crawled(),
    "me/inbox/": Crawled(),
    "me/notifications/": Crawled(),
    "me/data/": Crawled(),
    "me/delete/": Crawled(),
    "me/invite/": Crawled(),
    "points/": Crawled(),
    "points/tier/": Crawled(),
    "mall/products/<int:pk>/redeem/": Crawled(kwargs=lambda o: {"pk": o["product"]}),
    "mall/orders/": Crawled(),
    "mall/orders/<int:pk>/": Crawled(kwargs=lambda o: {"pk": o["order"]}),
    "mall/orders/<int:pk>/review/": Crawled(kwargs=lambda o: {"pk": o["delivered"]}),
    "mall/pay/<int:order_pk>/": Crawled(kwargs=lambda o: {"order_pk": o["cash_order"]}),
    "checkin/": Crawled(),
    "tasks/": Crawled(),
    "tasks/<int:task_id>/survey/": Crawled(kwargs=lambda o: {"task_id": o["survey"]}),
    "leaderboard/": Crawled(),
    "lottery/draws/": Crawled(),
    "feedback/": Crawled(),
    "accounts/email/": Crawled(),
    "accounts/password/change/": Crawled(),
    "accounts/2fa/": Crawled(),
    "accounts/3rdparty/": Crawled(),
}

POST_ONLY = "a form's target (POST only): its page is crawled where the form is"
NOT_CRAWLED: dict[str, str] = {
    "favicon.ico": "an icon, not a page",
    "^media/(?P<path>.*)$": "uploaded files, not pages",
    "i18n/setlang/": POST_ONLY,
    "me/addresses/<int:pk>/default/": POST_ONLY,
    "me/inbox/read-all/": POST_ONLY,
    "me/inbox/<int:pk>/read/": POST_ONLY,
    "me/invite/qr.svg": "a picture on the invite page",
    "mall/products/<int:pk>/address/": POST_ONLY,
    "mall/orders/<int:pk>/cancel/": POST_ONLY,
    "mall/orders/<int:pk>/confirm-receipt/": POST_ONLY,
    "mall/pay/<int:order_pk>/status/": "an htmx fragment of the payment page",
    "me/addresses/regions/": "JSON for the address form's region picker (the form is crawled on its own)",
    "mall/pay/sandbox/<str:reference>/": "the sandbox gateway's stand-in page (a development tool, not the mall's)",
    "mall/pay/sandbox/<str:reference>/pay/": POST_ONLY,
    "mall/pay/sandbox/<str:reference>/cancel/": POST_ONLY,
    "checkin/record/": POST_ONLY,
    "checkin/makeup/": POST_ONLY,
    "checkin/reminder/": POST_ONLY,
    "tasks/<int:task_id>/claim/": POST_ONLY,
    "tasks/<int:task_id>/visit/": "a redirect to the task's page",
    "tasks/<int:task_id>/<slug:action>/": POST_ONLY,
    "lottery/<int:campaign_id>/draw/": POST_ONLY,
    "lottery/<int:campaign_id>/winners/": "an htmx fragment of the campaign page (crawled there)",
    "lottery/<int:campaign_id>/mine/": "an htmx fragment of the campaign page (crawled there)",
    "feedback/<int:pk>/screenshot/": "the member's uploaded picture",
    "analytics/beacon": "a beacon endpoint, not a page",
    "accounts/logout/": "a confirmation only shown without JavaScript; signing out is a button on every page",
    "accounts/inactive/": "allauth's page for an inactive account; the mall deactivates none",
    "accounts/reauthenticate/": "allauth's password prompt before a sensitive change; same form as sign-in",
    "accounts/confirm-email/": "needs a fresh e-mail confirmation (the account flow tests open it)",
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": "needs a real confirmation key (the account flow tests open it)",
    "accounts/password/set/": "only for accounts without a password (social sign-in)",
    "accounts/login/code/confirm/": "sign-in by code is off",
    "accounts/password/reset/key/done/": "needs a real reset key first",
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": "needs a real reset key",
    "accounts/2fa/authenticate/": "the second step of a two-factor sign-in",
    "accounts/2fa/reauthenticate/": "the two-factor prompt before a sensitive change",
    "accounts/2fa/totp/activate/": "allauth's authenticator set-up (a QR code and a code field)",
    "accounts/2fa/totp/deactivate/": "only with an authenticator set up",
    "accounts/2fa/recovery-codes/": "only with an authenticator set up",
    "accounts/2fa/recovery-codes/generate/": "only with an authenticator set up",
    "accounts/2fa/recovery-codes/download/": "a text file",
    "accounts/3rdparty/login/cancelled/": "the end of a cancelled social sign-in",
    "accounts/3rdparty/login/error/": "the end of a failed social sign-in",
    "accounts/3rdparty/signup/": "the middle of a social sign-up",
    "accounts/social/login/cancelled/": "an old address of the page above",
    "accounts/social/login/error/": "an old address of the page above",
    "accounts/social/signup/": "an old address of the page above",
    "accounts/social/connections/": "a redirect to accounts/3rdparty/",
    "accounts/weixin/login/": "a redirect to the provider",
    "accounts/weixin/login/callback/": "the provider's callback",
    "accounts/github/login/": "a redirect to the provider",
    "accounts/github/login/callback/": "the provider's callback",
    "accounts/google/login/": "a redirect to the provider",
    "accounts/google/login/callback/": "the provider's callback",
    "admin/login/": "a redirect to the sign-in page",
}

# Words that stay in Latin letters in a Chinese page: brand names of sign-in providers and
# technical names. Product, campaign, prize and member names come from the data (``data_phrases``).
ALLOW_LIST = {"WeChat", "GitHub", "Google", "Chrome", "Safari", "Points Mall", "QR code"}
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ \u00a0]+[A-Za-z][A-Za-z'’]*)+")
# Apps whose rows hold text an operator or a member typed; a field named *_en is the English copy.
DATA_APPS = ("catalog", "lottery", "tasks", "content", "points", "accounts")

AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 6).map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 200),
                                            summary: (n.failureSummary || "").slice(0, 300)})),
    count: v.nodes.length,
  }));
}
"""
# What a reader gets from the page: rendered text (screen-reader-only text included), plus the
# alt, title, aria-label and placeholder of rendered elements. Text marked lang="en" is English on purpose.
VISIBLE_TEXT = """
() => {
  const out = [];
  const english = (el) => { const l = el.closest("[lang]"); return l && l.lang.toLowerCase().startsWith("en"); };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("script, style, noscript, template, [hidden], option") || english(el)) continue;
    if (!el.checkVisibility()) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  for (const el of document.body.querySelectorAll("[alt], [title], [aria-label], [placeholder]")) {
    if (english(el) || !el.checkVisibility()) continue;
    for (const name of ["alt", "title", "aria-label", "placeholder"]) {
      const value = (el.getAttribute(name) || "").trim();
      if (value) out.push(value);
    }
  }
  out.push(document.title);
  return out;
}
"""


def test_every_public_and_member_route_is_crawled_or_excused():
    """A new page joins the crawl (PAGES) or says why not (NOT_CRAWLED)."""
    wanted = {route for route, entry in ROUTES.items() if entry.kind in (Kind.PUBLIC, Kind.MEMBER)}
    assert not set(PAGES) & set(NOT_CRAWLED), "a route is both crawled and excused"
    assert sorted(wanted - set(PAGES) - set(NOT_CRAWLED)) == [], "routes neither crawled nor excused"
    assert sorted((set(PAGES) | set(NOT_CRAWLED)) - wanted) == [], "routes here that routes.py no longer has"


def english_runs(text: str, allowed: set[str]) -> list[str]:
    """Runs of two or more Latin-letter words in ``text`` that no allowed phrase covers."""
    for phrase in sorted(allowed, key=len, reverse=True):
        text = text.replace(phrase, " ")
    return [match.group(0) for match in ENGLISH_RUN.finditer(text)]


def test_english_runs_finds_sentences_and_spares_names():
    assert english_runs("兑换 Sign in 后可用", set()) == ["Sign in"]
    assert english_runs("Alice 王 的订单 · 500 积分", set()) == []
    assert english_runs("AirPods Pro 耳机", {"AirPods Pro"}) == []
    assert english_runs("使用 WeChat 登录", {"WeChat"}) == []


def data_phrases() -> set[str]:
    """English runs inside the data's Chinese (or language-neutral) text fields: brand and product
    names an operator typed as they are sold (e.g. "AirPods Pro"), members' own names and words."""
    phrases = set(ALLOW_LIST)
    for model in apps.get_models():
        if model._meta.app_label not in DATA_APPS and model._meta.model_name != "user":
            continue
        fields = [
            f.name
            for f in model._meta.get_fields()
            if isinstance(f, models.CharField | models.TextField) and not f.name.endswith("_en") and not f.choices
        ]
        if not fields:
            continue
        for row in model._base_manager.values_list(*fields):
            for value in row:
                if isinstance(value, str):
                    phrases.update(match.group(0) for match in ENGLISH_RUN.finditer(value))
    return phrases


def demo_objects() -> dict:
    """The member's real objects for the routes' parameters: the demo's where it has them, plus a
    delivered order to review and an order awaiting its cash part (the demo has neither for Alice)."""
    from accounts import services as accounts_services
    from accounts.models import Address
    from catalog.enums import ProductKind
    from catalog.models import Order, Product
    from lottery.models import LotteryCampaign
    from pointsmall.content.models import Announcement
    from tasks.models import Task
    from tests.catalog.factories import PIN, delivered_order, make_product, redeem

    user = apps.get_model("accounts", "User").objects.get(email=ALICE)
    accounts_services.pin_change(user_id=user.pk, password=PASSWORD, new_pin=PIN)  # the factories redeem with it
    product = Product.objects.filter(on_shelf=True, stock__gt=0, min_tier_rank=0, flash_sale=False).order_by("pk")
    address = Address.objects.filter(user=user).order_by("pk").first()
    cash = make_product(
        kind=ProductKind.PHYSICAL,
        name_zh="定制帆布袋",
        name_en="Custom canvas bag",
        points_price=100,
        cash_price="9.90",
    )
    cash_order = redeem(user, cash, address_id=address.pk if address else None)
    client = Client()
    client.force_login(user)
    assert client.post(reverse("payment_start", args=[cash_order.pk])).status_code == 302
    return {
        "product": product.first().pk,
        "address": address.pk,
        "order": Order.objects.filter(member=user, product__kind=ProductKind.PHYSICAL).order_by("-pk").first().pk,
        "delivered": delivered_order(user, make_product(name_zh="旅行收纳包", name_en="Travel pouch")).pk,
        "cash_order": cash_order.pk,
        "campaign": LotteryCampaign.objects.order_by("pk").first().pk,
        "announcement": Announcement.objects.live(timezone.now()).first().pk,
        "survey": Task.objects.filter(completion="survey").order_by("pk").first().pk,
    }


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> dict:
    from pointsmall.seeding import seed_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RATELIMIT_ENABLE = False  # one member opens ~90 pages in a few minutes
    settings.CATALOG_PAYMENT_BACKEND = "sandbox"
    seed_demo(io.StringIO())
    return demo_objects()


def open_context(browser: Browser, base_url: str, *, locale: str, phone: bool) -> BrowserContext:
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(base_url=base_url, locale=locale, viewport=size, is_mobile=phone, has_touch=phone)
    # An init script runs outside the page's Content-Security-Policy (which forbids injected scripts).
    context.add_init_script(path=str(AXE_JS))
    return context


def sign_in(page: Page, language: str) -> None:
    """Sign in, then choose the language in the header: a member reads the mall in their profile's
    language whatever the browser asks for (accounts/middleware.py)."""
    page.goto("/accounts/login/")
    form = page.locator("form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=login]").fill(ALICE)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    with page.expect_navigation():
        page.select_option("#language-select", language)
    assert page.locator("html").get_attribute("lang") == language


def check_page(
    page: Page, *, width: int, language: str, role: str, allowed: set[str], report: dict, out: Path, name: str
) -> list[str]:
    problems = []
    key = f"{language} {width}px {role} {urlsplit(page.url).path}"
    measured = page.evaluate(OVERFLOW_PROBE)
    if measured["scroll"] > measured["width"]:
        problems.append(f"{key}: scrolls sideways ({measured['scroll']} > {measured['width']}): {measured['wide']}")
    if width in AXE_WIDTHS:
        violations = page.evaluate(AXE_RUN, AXE_TAGS)
        report[key] = violations
        for violation in violations:
            if violation["impact"] in FAILING_IMPACTS:
                first = violation["nodes"][0]
                summary = " ".join(first["summary"].split())[:240]
                what = f"axe {violation['impact']} {violation['id']} ×{violation['count']}"
                problems.append(f"{key}: {what}: {first['target']} ({summary})")
    if language == "zh-hans" and width == 390:
        runs = sorted({run for text in page.evaluate(VISIBLE_TEXT) for run in english_runs(text, allowed)})
        if runs:
            problems.append(f"{key}: English left in the Chinese page: {runs}")
    page.screenshot(path=str(out / f"{language}-{width}-{name}.png"), full_page=True)
    return problems


def test_every_page_at_every_width_in_both_languages(request, demo, browser, live_server):
    out = request.config.rootpath / "test-results" / "e2e" / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    allowed = data_phrases()
    report: dict = {}
    problems: list[str] = []
    # One context per language, layout and role; the phone context is resized from 360 to 390 px
    # rather than reopening the page.
    for language, locale in LANGUAGES.items():
        for phone in (True, False):
            for signed_in in (False, True):
                context = open_context(browser, live_server.url, locale=locale, phone=phone)
                page = context.new_page()
                if signed_in:
                    sign_in(page, language)
                role = "member" if signed_in else "visitor"
                for route, crawled in PAGES.items():
                    if not (crawled.signed_in if signed_in else crawled.signed_out):
                        continue
                    path = url_for(route, crawled.kwargs(demo) if crawled.kwargs else None)
                    response = page.goto(path)
                    assert response is not None
                    if response.status >= 400:
                        problems.append(f"{language} {role} {path}: HTTP {response.status}")
                        continue
                    name = f"{role}-" + (re.sub(r"[^a-z0-9]+", "-", path).strip("-") or "home")
                    for width in PHONE_WIDTHS if phone else (DESKTOP_WIDTH,):
                        if phone:
                            page.set_viewport_size({"width": width, "height": 844})
                        problems += check_page(
                            page,
                            width=width,
                            language=language,
                            role=role,
                            allowed=allowed,
                            report=report,
                            out=out,
                            name=name,
                        )
                context.close()
    (out / "axe-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    assert problems == [], "\n".join(problems)
