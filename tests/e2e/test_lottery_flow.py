"""The lottery in a real browser (issue #11): the draw button posts through htmx, the wheel or the
9-grid animates to the prize the server drew (lottery.js sets data-landed on the stage when it
stops), then the result and the new balance show; the draw is in my draws; the page fits a phone
and keeps the CSP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from lottery import services
from lottery.models import Draw, LotteryPrize
from points import services as points_services
from tests.e2e.test_layout_and_policy import CSP_RECORDER, OVERFLOW_PROBE
from tests.factories import PASSWORD, MemberFactory


@pytest.fixture
def member(transactional_db):
    user = MemberFactory()
    points_services.points_earn(user_id=user.pk, amount=1000, idempotency_key="e2e-lottery-fund")
    return user


def make_campaign(style: str):
    now = timezone.now()
    campaign = services.lottery_campaign_create(
        name="春季转盘",
        name_en="Spring wheel",
        description="规则",
        description_en="Rules",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
        cost_points=50,
        style=style,
        pity_after=3,
        tier_free_draws=False,
    )
    for position, (name, kind, points, weight) in enumerate(
        [("20积分", "points", 20, 2000), ("谢谢参与", "none", None, 5000), ("5积分", "points", 5, 3000)]
    ):
        LotteryPrize.objects.create(
            campaign=campaign, position=position, name=name, name_en=f"{points} points" if points else "Thanks",
            kind=kind, points=points, weight_bp=weight, quantity=100 if points else None,
        )  # fmt: skip
    services.lottery_campaign_publish(campaign_id=campaign.pk, now=campaign.starts_at - timedelta(hours=1))
    return campaign


def _fits(page: Page) -> None:
    measured = page.evaluate(OVERFLOW_PROBE)
    assert measured["scroll"] <= measured["width"], measured["wide"]
    assert page.evaluate("window.__cspViolations || []") == []


@pytest.mark.parametrize(
    ("style", "width", "reduced"), [("wheel", 1280, False), ("grid", 390, False), ("wheel", 360, True)]
)
def test_draw_lands_on_the_servers_prize_and_shows_in_my_draws(make_page, login, shot, member, style, width, reduced):
    campaign = make_campaign(style)
    page = make_page(width=width, height=844, mobile=width < 768)
    if reduced:
        page.emulate_media(reduced_motion="reduce")
    page.add_init_script(CSP_RECORDER)
    login(page, member.email, PASSWORD)
    page.goto(f"/lottery/{campaign.pk}/")
    expect(page.get_by_test_id("header-points")).to_have_text("1,000")
    expect(page.get_by_test_id("lottery-draw-button")).to_contain_text("50 points")
    _fits(page)
    page.evaluate("window.__samePage = true")

    # A double click draws once: the button is disabled during the request, and the form's key is the same.
    page.get_by_test_id("lottery-draw-button").dblclick()
    stage = page.get_by_test_id("lottery-stage")
    expect(stage).to_have_attribute("data-landed", re.compile(r"^(\d+|none)$"))
    draw = Draw.objects.get()
    landed = stage.get_attribute("data-landed")
    assert landed == (str(draw.prize_id) if draw.prize_id else "none")
    result = page.get_by_test_id("lottery-result")
    assert result.get_attribute("data-prize-id") == landed
    expect(result).to_be_visible()
    won = {"20 points": 20, "5 points": 5}.get(draw.prize.name_en if draw.prize else "", 0)
    expect(page.get_by_test_id("lottery-result-text")).to_have_text(
        f"You won {draw.prize.name_en}!" if won else "No prize this time. Thanks for playing!"
    )
    if style == "grid":
        lit = page.locator(".lottery-cell.is-lit")
        expect(lit).to_have_count(1)
        index = [p.pk for p in campaign.prizes.order_by("position", "pk")].index(draw.prize_id) if draw.prize_id else 1
        assert lit.get_attribute("data-prize-index") == str(index)
    expected = 1000 - 50 + won
    expect(page.get_by_test_id("header-points")).to_have_text(f"{expected:,}")
    # My draws here refreshes when the wheel stops.
    expect(page.locator(f'#lottery-my-draws [data-draw-id="{draw.pk}"]')).to_be_visible()
    assert page.evaluate("window.__samePage === true"), "the page reloaded"
    _fits(page)
    shot(page, f"{style}-{width}")

    # A second draw with the fresh key the panel came back with.
    page.get_by_test_id("lottery-draw-button").click()
    shown = page.locator("[data-lottery-result]:not([hidden])")
    expect(shown).to_have_attribute("data-draw-id", re.compile(rf"^(?!{draw.pk}$)\d+$"))
    second = Draw.objects.exclude(pk=draw.pk).get()
    assert shown.get_attribute("data-draw-id") == str(second.pk)
    landed = page.get_by_test_id("lottery-stage").get_attribute("data-landed")
    assert landed == (str(second.prize_id) if second.prize_id else "none")

    page.goto("/lottery/draws/")
    expect(page.locator(f'[data-draw-id="{draw.pk}"]')).to_be_visible()
    expect(page.locator(f'[data-draw-id="{second.pk}"]')).to_be_visible()
    _fits(page)
    page.goto("/lottery/")
    expect(page.get_by_test_id("lottery-card")).to_have_count(1)
    _fits(page)
    shot(page, f"list-{width}")
    page.goto(f"/lottery/{campaign.pk}/verify/")
    expect(page.get_by_test_id("proof-draw")).to_have_count(2)
    _fits(page)
    shot(page, f"verify-{width}")


@pytest.mark.parametrize("style", ["wheel", "grid"])
def test_the_lottery_pages_fit_a_chinese_phone(make_page, login, member, style):
    campaign = make_campaign(style)
    page = make_page(width=360, height=800, mobile=True, locale="zh-CN")
    page.add_init_script(CSP_RECORDER)
    for url in ("/lottery/", f"/lottery/{campaign.pk}/", f"/lottery/{campaign.pk}/verify/"):
        page.goto(url)  # anonymous: the campaign pages are public
        _fits(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    login(page, member.email, PASSWORD)
    for url in (f"/lottery/{campaign.pk}/", "/lottery/draws/"):
        page.goto(url)
        _fits(page)
    page.goto(f"/lottery/{campaign.pk}/")
    expect(page.get_by_test_id("lottery-stage")).to_contain_text("谢谢参与")
