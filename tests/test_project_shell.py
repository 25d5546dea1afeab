"""Project-wide pieces every page relies on: security headers, private caching, the Site row,
logging, the favicon and the page title."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from tests.factories import MemberFactory

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"


def _csp(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_page_carries_a_csp_without_inline_script(client, db):
    policy = _csp(client.get(reverse("home")))
    assert policy["script-src"] == "script-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert "unsafe-inline" not in policy["style-src"]


def test_a_page_with_a_style_block_gets_the_nonce_that_its_style_element_carries(admin_client):
    response = admin_client.get(reverse("admin:index"))
    nonce = re.search(r"'nonce-([^']+)'", _csp(response)["style-src"]).group(1)
    assert f'<style nonce="{nonce}">' in response.content.decode()


def test_unused_browser_features_are_switched_off(client, db):
    policy = client.get(reverse("home")).headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_a_signed_in_members_page_is_private_and_not_stored(client, member):
    client.force_login(member)
    response = client.get(reverse("my_points"))
    assert response.status_code == 200
    directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    assert "Cookie" in response.headers["Vary"]


def test_a_view_with_its_own_caching_stays_private(client, member):
    client.force_login(member)
    directives = {d.strip() for d in client.get(reverse("invite_qr")).headers["Cache-Control"].split(",")}
    assert "private" in directives
    assert not any(d.startswith("public") for d in directives)


def test_anonymous_pages_are_not_marked_private(client, db):
    assert "private" not in client.get(reverse("rules")).headers.get("Cache-Control", "")


def _templates() -> list[Path]:
    return sorted(TEMPLATES_DIR.rglob("*.html"))


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_WITHOUT_NONCE = re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.I)


@pytest.mark.parametrize("pattern", [INLINE_SCRIPT, EVENT_HANDLER, STYLE_WITHOUT_NONCE], ids=lambda p: p.pattern[:20])
def test_no_template_needs_what_the_csp_forbids(pattern):
    offenders = [
        f"{path.relative_to(TEMPLATES_DIR)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in _templates()
        for text in [path.read_text()]
        for match in pattern.finditer(re.sub(r"{#.*?#}", "", text))
    ]
    assert offenders == []


def test_the_template_scan_would_catch_an_inline_script():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/mall.js" defer></script>')
    assert EVENT_HANDLER.search('<select onchange="this.form.submit()">')
    assert STYLE_WITHOUT_NONCE.search("<style>.a{}</style>")


def test_the_site_row_follows_the_settings_on_migrate(db, settings):
    settings.MALL_DOMAIN = "mall.example.org"
    settings.MALL_NAME = "Acme Rewards"
    call_command("migrate", "sites", verbosity=0)
    site = Site.objects.get_current()
    assert (site.domain, site.name) == ("mall.example.org", "Acme Rewards")


def test_emails_are_signed_with_the_mall_not_example_com(client, db, settings):
    settings.MALL_DOMAIN = "mall.example.org"
    call_command("migrate", "sites", verbosity=0)
    MemberFactory(email="reset@example.org")
    client.post(reverse("account_reset_password"), {"email": "reset@example.org"})
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "mall.example.org" in body
    assert "example.com" not in body


def test_each_log_line_is_printed_once():
    """In a fresh process with the project's logging config (pytest adds its own handlers here)."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('once-marker'); "
        "logging.getLogger('catalog').warning('once-marker')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pointsmall.settings"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=settings.BASE_DIR, check=True
    )
    assert (result.stdout + result.stderr).count("once-marker") == 2


def test_favicon_ico_leads_to_the_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("img/favicon.svg")


def test_the_home_page_title_names_the_mall_once(client, db):
    html = client.get(reverse("home")).content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
    assert title == "Points Mall"
