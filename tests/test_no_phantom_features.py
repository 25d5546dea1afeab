"""The mall promises only what it delivers: while the lottery serves no page, nothing a member
reads names it (docs/decisions/0004, 0020). Check-in, tasks and the leaderboard are built
(0024-0026).

The module doubles as a URLconf (``WITH_FEATURES``) in which those pages exist, to show that
what is hidden today is gated on the feature, not deleted.
"""

from __future__ import annotations

import html
import importlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as global_apps
from django.http import HttpResponse
from django.urls import clear_url_caches, path, reverse
from django.utils import timezone

from accounts.models import Notification
from catalog.demo import ITEMS
from points import features
from points import selectors as points_selectors
from points import services as points_services
from points.models import Account, Campaign, RulesPage, Tier
from pointsmall import seeding
from tests.factories import MemberFactory

PHANTOMS = re.compile(
    r"lottery|lotteries|prize draws?|\bdraws?\b|free shipping|抽奖|奖品|包邮|运费",
    re.IGNORECASE,
)
LANGUAGES = ["en", "zh-hans"]


def _coming_soon(request):
    return HttpResponse("soon")


# A URLconf in which the lottery exists (used only by the last tests).
urlpatterns = [
    *importlib.import_module("pointsmall.urls").urlpatterns,
    path("lottery/", _coming_soon, name="lottery"),
]
WITH_FEATURES = __name__


def visible_text(response) -> str:
    """What a member reads: the text between tags, plus titles and labels."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.DOTALL)
    attributes = " ".join(re.findall(r'(?:title|aria-label|alt|placeholder)="([^"]*)"', body))
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + attributes)


def phantoms(text: str) -> list[str]:
    return sorted({match.group(0) for match in PHANTOMS.finditer(text)})


@pytest.fixture
def demo_campaign(db):
    """The demo's running campaign, as ``seed_demo`` creates it."""
    seeding._campaign()
    return Campaign.objects.get(name=seeding.CAMPAIGN_NAME)


@pytest.fixture
def diamond_member(db):
    member = MemberFactory()
    points_services.points_earn(user_id=member.pk, amount=20_000, idempotency_key="phantom:earn")
    return member


def test_the_unbuilt_apps_serve_no_page_yet():
    live = {name: features.feature_live(name) for name in features.FEATURE_PAGES}
    # Check-in, tasks and the leaderboard are built (decisions 0024-0026); the lottery is not yet.
    assert live == {"checkin": True, "tasks": True, "lottery": False, "leaderboard": True}
    assert features.live_sources() == [
        "signup",
        "purchase",
        "first_purchase",
        "review",
        "share",
        "survey",
        "checkin",
        "task",
        "referral_signup",
        "referral_first_order",
        "leaderboard",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_a_member_reads_names_a_feature_that_is_not_there(client, demo_campaign, diamond_member, language):
    anonymous = {name: client.get(reverse(name), HTTP_ACCEPT_LANGUAGE=language) for name in ("home", "rules")}
    client.force_login(diamond_member)
    signed_in = {
        name: client.get(reverse(name), HTTP_ACCEPT_LANGUAGE=language) for name in ("home", "rules", "my_tier")
    }
    pages = {f"anonymous {n}": r for n, r in anonymous.items()} | {f"member {n}": r for n, r in signed_in.items()}

    for name, response in pages.items():
        assert response.status_code == 200, name
        assert phantoms(visible_text(response)) == [], name
    # The pages still say what does exist.
    home = visible_text(pages["anonymous home"])
    # Each reader sees the campaign in their own language (its operator gave both names).
    assert (seeding.CAMPAIGN_NAME_EN if language == "en" else seeding.CAMPAIGN_NAME) in home
    rules = visible_text(pages["member rules"])
    assert ("Review" if language == "en" else "评价") in rules
    assert ("Diamond" if language == "en" else "钻石会员") in visible_text(pages["member my_tier"])


def test_the_demo_campaign_banner_names_only_sources_that_exist(demo_campaign):
    banners = [(c.name, c.sources) for c in points_selectors.live_rules().campaigns]
    assert banners == [(seeding.CAMPAIGN_NAME_EN, ["purchase", "review"])]  # read in English


def test_a_campaign_only_for_features_still_to_come_is_not_shown(client, db):
    now = timezone.now()
    Campaign.objects.create(
        name="Prize frenzy", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1), sources=["lottery"]
    )
    assert points_selectors.live_rules().campaigns == []
    assert "frenzy" not in visible_text(client.get(reverse("home")))


def test_no_demo_item_on_sale_promises_a_feature_that_is_not_there():
    on_sale = [item for item in ITEMS if item.extra.get("on_shelf", True)]
    for item in on_sale:
        text = " ".join([item.name_en, item.name_zh, item.description_en, item.description_zh])
        assert phantoms(text) == [], item.name_en
    held_back = [item.name_en for item in ITEMS if not item.extra.get("on_shelf", True)]
    assert held_back == []  # the check-in cards are on sale since the check-in app delivers them


def test_the_tier_upgrade_notice_promises_no_prize_draws(db):
    member = MemberFactory()
    points_services.points_earn(user_id=member.pk, amount=5000, idempotency_key="phantom:gold")
    texts = [(n.text().title, n.text().body) for n in Notification.objects.filter(user=member)]
    assert texts == [
        ("Congratulations, you are now Gold", "Your benefits: redeem at 85% of the points price and earn points ×1.2.")
    ]


def test_the_rules_page_text_is_migrated_only_where_the_operator_left_the_default(db):
    migration = importlib.import_module("points.migrations.0007_rules_page_without_unbuilt_features")
    RulesPage.objects.filter(pk=1).update(body_zh=migration.OLD_ZH, body_en="Our own rules: check in daily!")
    migration.forwards(global_apps, None)
    migration.forwards(global_apps, None)  # idempotent
    page = RulesPage.objects.get(pk=1)
    assert (page.body_zh, page.body_en) == (migration.NEW_ZH, "Our own rules: check in daily!")
    assert phantoms(migration.NEW_ZH + migration.NEW_EN) == []
    migration.backwards(global_apps, None)
    assert RulesPage.objects.get(pk=1).body_zh == migration.OLD_ZH


# --- Once the apps exist, what they give shows up again ---------------------------------------


@pytest.fixture
def with_features(settings):
    settings.ROOT_URLCONF = WITH_FEATURES
    clear_url_caches()
    yield
    clear_url_caches()


def test_once_the_apps_serve_pages_their_rules_and_benefits_are_shown(client, with_features, diamond_member):
    assert all(features.feature_live(name) for name in features.FEATURE_PAGES)
    client.force_login(diamond_member)
    rules = visible_text(client.get(reverse("rules")))
    assert "Daily check-in" in rules
    assert "Free draws a month" in rules
    assert "Free draws a month" in visible_text(client.get(reverse("my_tier")))
    Account.objects.filter(user=diamond_member).update(tier=Tier.objects.get(code="gold"))
    member = MemberFactory()
    points_services.points_earn(user_id=member.pk, amount=1000, idempotency_key="phantom:silver")
    assert Notification.objects.filter(user=member).get().text().body == (
        "Your benefits: redeem at 95% of the points price, earn points ×1.1 and draw 1 free prize a month."
    )


def test_campaign_sources_are_named_once_their_feature_exists(with_features, db):
    now = timezone.now()
    Campaign.objects.create(
        name="Check-in week",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        multiplier=Decimal("2"),
        sources=["checkin"],
    )
    assert [(c.name, c.sources) for c in points_selectors.live_rules().campaigns] == [("Check-in week", ["checkin"])]
