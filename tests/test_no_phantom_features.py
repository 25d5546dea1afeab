"""The mall promises only what it delivers (docs/decisions/0004, 0020). Every feature is built now:
check-in, tasks and the leaderboard (0024-0026) and the lottery (0027), so their rules, campaign
sources and tier benefits (free draws) are shown; what the mall still does not do (free shipping)
is named nowhere a member reads.
"""

from __future__ import annotations

import html
import importlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as global_apps
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from catalog.demo import ITEMS
from points import features
from points import selectors as points_selectors
from points import services as points_services
from points.models import Account, Campaign, RulesPage, Tier
from pointsmall import seeding
from tests.factories import MemberFactory

# What the mall does not do. (The lottery's words were here until its pages existed.)
PHANTOMS = re.compile(r"free shipping|包邮|运费", re.IGNORECASE)
LANGUAGES = ["en", "zh-hans"]


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


def test_every_feature_serves_its_page():
    live = {name: features.feature_live(name) for name in features.FEATURE_PAGES}
    assert live == {"checkin": True, "tasks": True, "lottery": True, "leaderboard": True}
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
        "lottery",
        "leaderboard",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_a_member_reads_promises_what_the_mall_does_not_do(client, demo_campaign, diamond_member, language):
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


def test_a_campaign_for_lottery_winnings_is_shown_now_that_the_lottery_exists(client, db):
    now = timezone.now()
    Campaign.objects.create(
        name="Prize frenzy", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1), sources=["lottery"]
    )
    assert [(c.name, c.sources) for c in points_selectors.live_rules().campaigns] == [("Prize frenzy", ["lottery"])]


def test_no_demo_item_on_sale_promises_a_feature_that_is_not_there():
    on_sale = [item for item in ITEMS if item.extra.get("on_shelf", True)]
    for item in on_sale:
        text = " ".join([item.name_en, item.name_zh, item.description_en, item.description_zh])
        assert phantoms(text) == [], item.name_en
    held_back = [item.name_en for item in ITEMS if not item.extra.get("on_shelf", True)]
    assert held_back == []  # the check-in cards are on sale since the check-in app delivers them


def test_the_tier_upgrade_notice_names_the_free_draws(db, settings):
    settings.NOTIFY_POINTS_EARNED_MIN = 10_000  # only the tier's message
    member = MemberFactory()
    points_services.points_earn(user_id=member.pk, amount=1000, idempotency_key="phantom:silver")
    assert Notification.objects.filter(user=member).get().text().body == (
        "Your benefits: 5% off the points price, earn points ×1.1 and draw 1 free prize a month."
    )


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


# --- The built features' rules and benefits are shown ---------------------------------------


def test_the_rules_page_and_my_tier_show_the_free_draws(client, diamond_member):
    client.force_login(diamond_member)
    rules = visible_text(client.get(reverse("rules")))
    assert "Daily check-in" in rules
    assert "Free draws a month" in rules
    assert "Free draws a month" in visible_text(client.get(reverse("my_tier")))
    Account.objects.filter(user=diamond_member).update(tier=Tier.objects.get(code="gold"))
    assert "Free draws a month" in visible_text(client.get(reverse("my_tier")))


def test_campaign_sources_of_built_features_are_named(db):
    now = timezone.now()
    Campaign.objects.create(
        name="Check-in week",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        multiplier=Decimal("2"),
        sources=["checkin"],
    )
    assert [(c.name, c.sources) for c in points_selectors.live_rules().campaigns] == [("Check-in week", ["checkin"])]
