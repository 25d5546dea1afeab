"""Home banners: the schedule, and the admin refusing a bad picture or a bad link (nothing written)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pointsmall.content import images, rules, selectors, services
from pointsmall.content.exceptions import InvalidBannerLinkError
from pointsmall.content.models import Banner
from tests.content.conftest import files_under, png, upload

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2026, 3, 2, 10, 0))
ADD_URL = reverse("admin:content_banner_add")


def make_banner(title: str, **fields) -> Banner:
    banner = Banner(**{"title_zh": title, "title_en": title, "link": "/mall/", "starts_at": NOW, **fields})
    services.banner_picture_attach(banner=banner, picture=_prepared())
    banner.save()
    return banner


def _prepared():
    return images.banner_picture_prepare(upload=upload())


def test_banners_show_inside_their_window_in_the_operators_order(media_root):
    make_banner("Later", sort=2)
    make_banner("First", sort=1)
    make_banner("Ended", ends_at=NOW + timedelta(hours=1))
    make_banner("Future", starts_at=NOW + timedelta(days=1))
    make_banner("Off", active=False)

    assert [b.title for b in selectors.banners_current(now=NOW)] == ["Ended", "First", "Later"]
    assert [b.title for b in selectors.banners_current(now=NOW + timedelta(hours=1))] == ["First", "Later"]
    assert [b.title for b in selectors.banners_current(now=NOW + timedelta(days=1))] == ["Future", "First", "Later"]


def test_the_home_page_shows_current_banners(client, media_root):
    banner = Banner(
        title_zh="春季活动", title_en="Spring fair", link="https://example.com/spring", starts_at=timezone.now()
    )
    services.banner_picture_attach(banner=banner, picture=_prepared())
    banner.save()

    page = client.get(reverse("home")).content.decode()

    assert "Spring fair" in page
    assert 'href="https://example.com/spring" rel="noopener"' in page


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("/mall/", True),
        ("https://example.com/a?b=1", True),
        ("http://example.com/", False),
        ("javascript:alert(1)", False),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("/mall/ x", False),
        ("mall/", False),
        ("", False),
    ],
)
def test_a_banner_links_to_a_site_path_or_an_https_url(link, ok):
    assert rules.is_banner_link(link) is ok
    if not ok:
        with pytest.raises(InvalidBannerLinkError):
            services.banner_link_check(link)


def form_data(**overrides) -> dict:
    return {
        "title_zh": "新品",
        "title_en": "New",
        "alt_zh": "",
        "alt_en": "",
        "link": "/mall/",
        "starts_at_0": "2026-03-02",
        "starts_at_1": "10:00:00",
        "ends_at_0": "",
        "ends_at_1": "",
        "sort": "0",
        "active": "on",
        **overrides,
    }


def test_the_admin_stores_a_banner_picture_re_encoded(admin_client):
    response = admin_client.post(ADD_URL, {**form_data(), "upload": upload()})

    assert response.status_code == 302, response.content.decode()[:2000]
    banner = Banner.objects.get()
    assert (banner.width, banner.height) == (320, 100)
    assert banner.image.name.endswith(".jpg")


def test_the_admin_refuses_a_file_that_is_not_a_picture_and_writes_nothing(admin_client, tmp_path):
    response = admin_client.post(ADD_URL, {**form_data(), "upload": upload(b"GIF89a not really", "evil.png")})

    assert response.status_code == 200
    assert "This file is not an image we can use." in response.content.decode()
    assert not Banner.objects.exists()
    assert files_under(tmp_path) == []


def test_the_admin_refuses_a_bad_link_and_writes_nothing(admin_client, tmp_path):
    response = admin_client.post(ADD_URL, {**form_data(link="javascript:alert(1)"), "upload": upload(png())})

    assert response.status_code == 200
    assert "Enter a path on this site (like /mall/) or an https:// address." in response.content.decode()
    assert not Banner.objects.exists()
    assert files_under(tmp_path) == []


def test_the_banner_add_form_starts_now(admin_client):
    starts = admin_client.get(reverse("admin:content_banner_add")).context["adminform"].form["starts_at"].value()
    assert starts is not None and abs(timezone.now() - starts) < timedelta(minutes=1)
