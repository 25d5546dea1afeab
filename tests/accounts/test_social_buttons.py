"""Issue #17: the social sign-in buttons carry their brand's icon and name; WeChat is 微信 and
first in Chinese. Only providers with an app configured are shown."""

from __future__ import annotations

import re

import pytest
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.models import Site
from django.urls import reverse


@pytest.fixture
def social_apps(db):
    site = Site.objects.get_current()
    for provider, name in [("weixin", "Weixin"), ("github", "GitHub"), ("google", "Google")]:
        app = SocialApp.objects.create(provider=provider, name=name, client_id=f"{provider}-id", secret="secret")
        app.sites.add(site)


def buttons(client, url: str, language: str) -> list[tuple[str, str]]:
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    found = re.findall(
        r'data-testid="provider-(\w+)"><span class="provider-icon" aria-hidden="true"></span><span>([^<]+)<', page
    )
    return found


@pytest.mark.parametrize("url_name", ["account_login", "account_signup"])
def test_in_chinese_wechat_is_first_and_called_weixin(client, social_apps, url_name):
    assert buttons(client, reverse(url_name), "zh-hans") == [
        ("weixin", "使用微信登录"),
        ("github", "使用GitHub登录"),
        ("google", "使用Google登录"),
    ]


@pytest.mark.parametrize("url_name", ["account_login", "account_signup"])
def test_in_english_wechat_comes_last(client, social_apps, url_name):
    assert buttons(client, reverse(url_name), "en") == [
        ("github", "Continue with GitHub"),
        ("google", "Continue with Google"),
        ("weixin", "Continue with WeChat"),
    ]


def test_no_app_configured_no_buttons(client, db):
    assert buttons(client, reverse("account_login"), "en") == []


def test_the_brand_icons_are_vendored_with_their_licence():
    from django.conf import settings

    folder = settings.BASE_DIR / "static" / "vendor" / "simple-icons-16.37.0"
    assert (folder / "LICENSE.md").read_text().startswith("# CC0 1.0 Universal")
    for brand in ("wechat", "github", "google"):
        assert (folder / "icons" / f"{brand}.svg").read_text().startswith("<svg")
