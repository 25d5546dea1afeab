"""A social provider installed but not configured (no SocialApp row) is not found, never a 500 (issue #16)."""

from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.models import Site

pytestmark = pytest.mark.django_db

URLS = [
    "/accounts/github/login/",
    "/accounts/github/login/callback/",
    "/accounts/google/login/",
    "/accounts/google/login/callback/",
    "/accounts/google/login/token/",
    "/accounts/weixin/login/",
    "/accounts/weixin/login/callback/",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unconfigured_provider_answers_404_and_writes_no_app(client, url, method):
    assert not SocialApp.objects.exists()
    response = getattr(client, method)(url)
    assert response.status_code == 404
    assert not SocialApp.objects.exists()


def test_a_configured_provider_still_starts_its_login(client):
    app = SocialApp.objects.create(provider="github", name="GitHub", client_id="id", secret="secret")
    app.sites.add(Site.objects.get_current())
    response = client.post("/accounts/github/login/")
    assert response.status_code == 302 and response["Location"].startswith("https://github.com/login/oauth/authorize")
