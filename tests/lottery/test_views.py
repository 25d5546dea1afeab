"""The member's lottery pages: list, campaign page (wheel / grid, odds, limits, proof, winners),
the draw (plain POST and htmx), my draws and the verify page (issue #11)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Category, Product, ProductKind
from lottery import rules, services
from lottery.models import Draw, DrawerState, LotteryCampaign, LotteryPrize
from points import selectors as points_selectors
from points import services as points_services
from tests.factories import MemberFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=SHANGHAI)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def make_campaign(*, style="wheel", published=True, starts=-1, ends=24 * 7, **fields) -> LotteryCampaign:
    """A campaign with a 20-point prize (30%) and "thanks for playing" (70%)."""
    values = {
        "name_en": "Spring wheel",
        "description": "春季抽奖规则",
        "description_en": "Spring draw rules",
        "cost_points": 50,
        "style": style,
        "tier_free_draws": False,
    } | fields
    campaign = services.lottery_campaign_create(
        name="春季转盘",
        starts_at=NOW + timedelta(hours=starts),
        ends_at=NOW + timedelta(hours=ends),
        **values,
    )
    LotteryPrize.objects.create(
        campaign=campaign, position=0, name="20积分", name_en="20 points", kind="points", points=20,
        weight_bp=3000, quantity=100,
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, position=1, name="谢谢参与", name_en="Thanks for playing", kind="none", weight_bp=7000
    )
    if published:
        services.lottery_campaign_publish(campaign_id=campaign.pk, now=NOW - timedelta(hours=2))
    return campaign


def fund(user, amount=1000):
    points_services.points_earn(user_id=user.pk, amount=amount, idempotency_key=f"fund:{user.pk}:{amount}")


def balance(user) -> int:
    return points_selectors.header_status(user_id=user.pk)[0]


@pytest.fixture
def campaign(db):
    return make_campaign()


@pytest.fixture
def member(db):
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        user = MemberFactory()
    fund(user)
    return user


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


def form_fields(html: str) -> dict:
    """The draw form's hidden inputs and client seed, as the page rendered them."""
    fields = {}
    for name in ("idempotency_key", "confirmation", "client_seed"):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', html
        )
        assert match, name
        fields[name] = match.group(1)
    return fields


def draw_data(client, campaign, **overrides) -> dict:
    html = client.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    return form_fields(html) | overrides


def signed_data(member, campaign) -> dict:
    """A draw form as a page rendered it earlier (the page now shows the button disabled)."""
    token = services.lottery_draw_confirmation_sign(user_id=member.pk, campaign_id=campaign.pk)
    return {"idempotency_key": str(uuid.uuid4()), "confirmation": token, "client_seed": "abc"}


def nothing_written(member, before: int) -> None:
    assert not Draw.objects.exists()
    assert not DrawerState.objects.exists()
    assert balance(member) == before


# --- Pages -----------------------------------------------------------------------------------


def test_the_list_is_public_and_groups_campaigns(client, campaign):
    upcoming = make_campaign(starts=48, ends=96)
    make_campaign(published=False)
    response = client.get(reverse("lottery"))
    assert response.status_code == 200
    html = response.content.decode()
    assert [g[0] for g in response.context["groups"]] == ["running", "upcoming"]
    assert reverse("lottery_campaign", args=[campaign.pk]) in html
    assert reverse("lottery_campaign", args=[upcoming.pk]) in html
    assert html.count('data-testid="lottery-card"') == 2  # the unpublished one is not listed
    assert "css/lottery.css" in html


def test_an_anonymous_visitor_reads_the_terms_and_is_asked_to_sign_in_to_draw(client, campaign):
    response = client.get(reverse("lottery_campaign", args=[campaign.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="lottery-sign-in"' in html
    assert 'data-testid="lottery-draw-button"' not in html
    assert "hx-post" not in html
    assert campaign.seed_hash in html
    assert campaign.seed not in html
    assert [(p.name, p.probability) for p in response.context["page"].prizes] == [
        ("20 points", "30.00%"),
        ("Thanks for playing", "70.00%"),
    ]
    assert "100 / 100" in html
    assert 'data-testid="lottery-my-draws"' not in html


def test_the_member_sees_the_exact_cost_a_fresh_key_and_the_limits(signed_in, member):
    campaign = make_campaign(daily_limit=3, pity_after=5)
    response = signed_in.get(reverse("lottery_campaign", args=[campaign.pk]))
    html = response.content.decode()
    assert re.search(r'data-testid="lottery-draw-button">\s*<span class="visually-hidden">Draw: </span>'
                     r'<span class="lottery-cost">50 points</span>', html)  # fmt: skip
    fields = form_fields(html)
    uuid.UUID(fields["idempotency_key"])
    confirmed = services.lottery_draw_confirmation_read(
        token=fields["confirmation"], user_id=member.pk, campaign_id=campaign.pk
    )
    assert confirmed.points == 50
    assert 0 < len(fields["client_seed"]) <= 64
    assert "3 draws left today" in html
    assert "Guaranteed win after 5 draws without one." in html
    assert "You're at 0." in html
    assert 'hx-trigger="every 15s, lottery:landed from:body"' in html
    assert "js/lottery.js" in html
    # A second render is a second request: a new key.
    assert (
        form_fields(signed_in.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode())["idempotency_key"]
        != fields["idempotency_key"]
    )


def test_the_grid_puts_eight_cells_around_the_button(signed_in):
    campaign = make_campaign(style="grid")
    html = signed_in.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    assert 'data-style="grid"' in html
    cells = re.findall(r'data-cell="(\d)" data-prize-index="(\d)"', html)
    # Row by row; clockwise order 0 1 2 / 7 · 3 / 6 5 4; two prizes repeat around the ring.
    assert cells == [("0", "0"), ("1", "1"), ("2", "0"), ("7", "1"), ("3", "1"), ("6", "0"), ("5", "1"), ("4", "0")]
    centre = html.index('class="lottery-grid-centre"')
    assert html.index('data-cell="7"') < centre < html.index('data-cell="3"')


def test_the_page_reads_in_chinese(signed_in, campaign):
    response = signed_in.get(reverse("lottery_campaign", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-hans"' in html
    assert "春季转盘" in html and "谢谢参与" in html


@pytest.mark.parametrize("name", ["lottery_campaign", "lottery_verify", "lottery_winners"])
def test_an_unknown_or_unpublished_campaign_is_a_404(signed_in, name):
    hidden = make_campaign(published=False)
    assert signed_in.get(reverse(name, args=[hidden.pk])).status_code == 404
    assert signed_in.get(reverse(name, args=[hidden.pk + 999])).status_code == 404


def test_drawing_in_an_unpublished_campaign_is_a_404_and_writes_nothing(signed_in, member):
    hidden = make_campaign(published=False)
    data = {"idempotency_key": str(uuid.uuid4()), "confirmation": "x", "client_seed": "abc"}
    assert signed_in.post(reverse("lottery_draw", args=[hidden.pk]), data).status_code == 404
    nothing_written(member, 1000)


def test_pages_never_write(signed_in, member, campaign):
    services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key="seed-draw")
    urls = [
        reverse("lottery"),
        reverse("lottery_campaign", args=[campaign.pk]),
        reverse("lottery_winners", args=[campaign.pk]),
        reverse("lottery_campaign_draws", args=[campaign.pk]),
        reverse("lottery_my_draws"),
        reverse("lottery_verify", args=[campaign.pk]),
        reverse("lottery_verify", args=[campaign.pk]) + f"?seed={'a' * 64}&draw_id=1&client_seed=x&nonce=0",
    ]
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get(url).status_code == 200, url
        writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.IGNORECASE)]
        # The session may be saved; nothing else is.
        assert [w for w in writes if "django_session" not in w] == [], url


def test_anonymous_visitors_are_sent_to_sign_in_to_draw_and_for_my_draws(client, campaign):
    for url in (reverse("lottery_my_draws"), reverse("lottery_campaign_draws", args=[campaign.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    response = client.post(reverse("lottery_draw", args=[campaign.pk]), {"idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert not Draw.objects.exists()


def test_the_draw_endpoint_takes_only_post(signed_in, campaign):
    assert signed_in.get(reverse("lottery_draw", args=[campaign.pk])).status_code == 405


# --- Drawing ---------------------------------------------------------------------------------


def test_a_plain_post_draws_once_and_redirects_with_the_result(signed_in, member, campaign):
    data = draw_data(signed_in, campaign, client_seed="my-lucky-seed")
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data, follow=True)
    assert response.redirect_chain == [(reverse("lottery_campaign", args=[campaign.pk]), 302)]
    draw = Draw.objects.get()
    assert (draw.member_id, draw.client_seed, draw.cost_points) == (member.pk, "my-lucky-seed", 50)
    won = draw.prize_id is not None
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1
    if won:
        assert shown == ["You won 20 points!"]
    else:
        assert shown == ["No prize this time. Thanks for playing!"]
    assert balance(member) == 1000 - 50 + (20 if won else 0)
    assert draw.number == rules.draw_number(
        seed=campaign.seed, draw_id=draw.pk, client_seed="my-lucky-seed", nonce=draw.nonce
    )
    # The same form sent again (a double click, a reload): one draw.
    signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data)
    assert Draw.objects.count() == 1
    assert balance(member) == 1000 - 50 + (20 if won else 0)
    # My draws shows it.
    mine = signed_in.get(reverse("lottery_my_draws")).content.decode()
    assert f'data-draw-id="{draw.pk}"' in mine


def test_an_htmx_draw_answers_with_the_panel_carrying_the_outcome_and_the_balance(signed_in, member, campaign):
    data = draw_data(signed_in, campaign)
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data, **HTMX)
    assert response.status_code == 200
    assert next(t.name for t in response.templates) == "lottery/partials/draw_panel.html"
    html = response.content.decode()
    assert "<html" not in html
    draw = Draw.objects.get()
    # The slice the wheel stops on: the prize won, or "thanks for playing" (the second).
    index, landed = (0, draw.prize_id) if draw.prize_id else (1, "none")
    assert f'data-prize-id="{landed}" data-slice="{index}" data-draw-id="{draw.pk}" hidden' in html
    assert "data-pending" in html
    after = balance(member)
    assert after == 1000 - 50 + (20 if draw.prize_id else 0)
    assert re.search(r'id="header-points"[^>]*hx-swap-oob="true"', html)
    assert f"<span>{after:,}</span>" in html
    # A fresh key for the next draw.
    assert form_fields(html)["idempotency_key"] != data["idempotency_key"]


def test_a_free_draw_is_what_the_button_says(signed_in, member):
    campaign = make_campaign(cost_points=0)
    html = signed_in.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    assert '<span class="lottery-cost">Draw for free</span>' in html
    signed_in.post(reverse("lottery_draw", args=[campaign.pk]), form_fields(html))
    assert Draw.objects.get().cost_points == 0


# --- Refusals write nothing ------------------------------------------------------------------


def test_not_enough_points_is_refused_and_writes_nothing(client, campaign):
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        poor = MemberFactory()
    client.force_login(poor)
    html = client.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    assert 'data-testid="lottery-not-eligible">Not enough points' in html
    assert "hx-post" not in html and "disabled" in html
    data = signed_data(poor, campaign)
    response = client.post(reverse("lottery_draw", args=[campaign.pk]), data)
    assert response.status_code == 400
    assert "Not enough points" in response.content.decode()
    htmx = client.post(reverse("lottery_draw", args=[campaign.pk]), data, **HTMX)
    assert (htmx.status_code, htmx["X-Refusal"]) == (200, "insufficient_points")
    assert 'data-testid="lottery-error"' in htmx.content.decode()
    assert not Draw.objects.exists() and not DrawerState.objects.exists()


def test_the_daily_limit_is_refused_and_writes_nothing_more(signed_in, member):
    campaign = make_campaign(daily_limit=1)
    signed_in.post(reverse("lottery_draw", args=[campaign.pk]), draw_data(signed_in, campaign))
    assert Draw.objects.count() == 1
    after_one = balance(member)
    html = signed_in.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    assert "0 draws left today" in html
    assert "hx-post" not in html
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), signed_data(member, campaign), **HTMX)
    assert response["X-Refusal"] == "lottery_daily_limit"
    assert "You have used all 1 draws of today." in response.content.decode()
    assert Draw.objects.count() == 1
    assert balance(member) == after_one


@pytest.mark.parametrize(
    ("overrides", "status", "text"),
    [
        ({"client_seed": "x" * 65}, 400, "Ensure this value has at most 64 characters"),
        ({"client_seed": "tab\there"}, 400, "Use up to 64 printable characters."),
        ({"client_seed": "中文"}, 400, "Use up to 64 printable characters."),
        ({"idempotency_key": "not-a-uuid"}, 400, "This draw form is out of date."),
        ({"confirmation": "tampered"}, 400, "This confirmation is out of date or not valid"),
    ],
)
def test_a_bad_form_is_refused_and_writes_nothing(signed_in, member, campaign, overrides, status, text):
    data = draw_data(signed_in, campaign, **overrides)
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data)
    assert response.status_code == status
    assert text in response.content.decode()
    nothing_written(member, 1000)


def test_another_members_confirmation_is_refused(signed_in, member, campaign, other_member):
    data = draw_data(signed_in, campaign)
    data["confirmation"] = services.lottery_draw_confirmation_sign(user_id=other_member.pk, campaign_id=campaign.pk)
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data, **HTMX)
    assert response["X-Refusal"] == "confirmation_invalid"
    nothing_written(member, 1000)


def test_a_changed_price_shows_the_new_cost_and_a_fresh_confirmation(signed_in, member, campaign):
    data = draw_data(signed_in, campaign)
    LotteryCampaign.objects.filter(pk=campaign.pk).update(cost_points=80)  # what the member saw is stale
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data, **HTMX)
    assert response["X-Refusal"] == "price_changed"
    html = response.content.decode()
    assert '<span class="lottery-cost">80 points</span>' in html
    fresh = form_fields(html)
    assert (
        services.lottery_draw_confirmation_read(
            token=fresh["confirmation"], user_id=member.pk, campaign_id=campaign.pk
        ).points
        == 80
    )
    nothing_written(member, 1000)


def test_a_campaign_not_started_or_ended_is_refused(signed_in, member):
    campaign = make_campaign(starts=2, ends=48)
    html = signed_in.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    assert "Not started yet" in html and "hx-post" not in html
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), signed_data(member, campaign))
    assert response.status_code == 409
    nothing_written(member, 1000)


# --- Privacy ---------------------------------------------------------------------------------


def test_another_members_draws_are_never_shown_as_mine(signed_in, member, other_member, campaign):
    fund(other_member)
    theirs = services.lottery_draw(
        user_id=other_member.pk, campaign_id=campaign.pk, idempotency_key="theirs", client_seed="their-secret-seed"
    )
    mine = services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key="mine")
    for url in (
        reverse("lottery_my_draws"),
        reverse("lottery_campaign_draws", args=[campaign.pk]),
    ):
        html = signed_in.get(url).content.decode()
        assert f'data-draw-id="{mine.draw_id}"' in html
        assert f'data-draw-id="{theirs.draw_id}"' not in html
    page = signed_in.get(reverse("lottery_campaign", args=[campaign.pk]))
    assert [d.id for d in page.context["draws"]] == [mine.draw_id]
    assert other_member.email not in page.content.decode()


# --- Verify ----------------------------------------------------------------------------------


def test_the_verify_page_shows_the_formula_and_recomputes_a_draw(client, member, campaign):
    draw = services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key="v", client_seed="abc")
    response = client.get(reverse("lottery_verify", args=[campaign.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "HMAC-SHA256" in html and "4294960000" in html
    assert campaign.seed_hash in html and campaign.seed not in html  # not revealed yet
    assert 'data-testid="proof-draw"' in html
    query = {"seed": campaign.seed, "draw_id": draw.draw_id, "client_seed": "abc", "nonce": Draw.objects.get().nonce}
    recomputed = client.get(reverse("lottery_verify", args=[campaign.pk]), query)
    assert recomputed.context["recomputed"] == draw.number
    assert f"Number: {draw.number}" in recomputed.content.decode()
    bad = client.get(reverse("lottery_verify", args=[campaign.pk]), query | {"seed": "nope"})
    assert bad.context["recomputed"] is None
    assert "The seed is 64 hexadecimal characters." in bad.content.decode()


def test_a_tier_free_draw_is_what_the_button_says_and_is_used_first(signed_in, member):
    campaign = make_campaign(tier_free_draws=True)
    html = signed_in.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    # 1000 points lifetime: Silver, one free draw a month.
    assert '<span class="lottery-cost">Free draw (1 left this month)</span>' in html
    assert "1 free draw left this month" in html
    signed_in.post(reverse("lottery_draw", args=[campaign.pk]), form_fields(html))
    draw = Draw.objects.get()
    assert (draw.free, draw.cost_points) == (True, 0)
    assert balance(member) == 1000 + (20 if draw.prize_id else 0)
    html = signed_in.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
    assert '<span class="lottery-cost">50 points</span>' in html


def test_the_winners_list_shows_masked_names_and_polls(client, member):
    campaign = services.lottery_campaign_create(
        name="必中", name_en="Sure win", description="x", cost_points=10, tier_free_draws=False,
        starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=1),
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, name="5积分", name_en="5 points", kind="points", points=5, weight_bp=10000, quantity=10
    )
    services.lottery_campaign_publish(campaign_id=campaign.pk, now=NOW - timedelta(hours=2))
    services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key="w")
    response = client.get(reverse("lottery_winners", args=[campaign.pk]))
    assert next(t.name for t in response.templates) == "lottery/partials/winners.html"
    html = response.content.decode()
    assert "<html" not in html
    assert 'hx-trigger="every 15s, lottery:landed from:body"' in html
    assert html.count('data-testid="lottery-winner"') == 1
    assert "5 points" in html
    assert member.email not in html and member.email.split("@")[0] not in html


def test_after_the_reveal_the_seed_is_shown_and_every_draw_verifies(client, member, campaign):
    services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key="r1", client_seed="abc")
    services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key="r2")
    with time_machine.travel(campaign.ends_at + timedelta(minutes=5), tick=False):
        assert services.lottery_seeds_reveal() == 1
        page = client.get(reverse("lottery_campaign", args=[campaign.pk])).content.decode()
        assert f'data-testid="lottery-seed">{campaign.seed}<' in page
        assert "Finished" in page
        response = client.get(reverse("lottery_verify", args=[campaign.pk]))
    html = response.content.decode()
    assert campaign.seed in html
    assert "matches the published hash" in html
    assert "Every draw recomputes to its stored number and prize." in html
    assert html.count('data-testid="proof-draw"') == 2
    assert response.context["proof"].ok
    # Each row links to the recompute form filled with its inputs.
    first = Draw.objects.order_by("pk").first()
    link = f"?seed={campaign.seed}&amp;draw_id={first.pk}&amp;client_seed=abc&amp;nonce={first.nonce}"
    assert link in html


def test_a_physical_prize_without_an_address_is_refused_with_a_link_to_add_one(signed_in, member):
    category = Category.objects.create(name_zh="奖品", name_en="Prizes", slug="prizes")
    flask = Product.objects.create(
        name_zh="保温杯", name_en="Flask", category=category, kind=ProductKind.PHYSICAL, points_price=500, stock=5,
        per_order_limit=5, low_stock_threshold=0,
    )  # fmt: skip
    campaign = services.lottery_campaign_create(
        name="实物", name_en="Things", description="x", cost_points=10, tier_free_draws=False,
        starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=1),
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, name="保温杯", name_en="Flask", kind="product", product=flask, weight_bp=1000, quantity=3
    )
    LotteryPrize.objects.create(campaign=campaign, position=1, name="谢谢参与", kind="none", weight_bp=9000)
    services.lottery_campaign_publish(campaign_id=campaign.pk, now=NOW - timedelta(hours=2))
    response = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), signed_data(member, campaign), **HTMX)
    assert response["X-Refusal"] == "lottery_address_required"
    html = response.content.decode()
    assert "add a delivery address before drawing" in html
    assert f'href="{reverse("address_create")}"' in html
    nothing_written(member, 1000)


def test_an_htmx_double_click_draws_once(signed_in, member, campaign):
    data = draw_data(signed_in, campaign)
    first = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data, **HTMX)
    second = signed_in.post(reverse("lottery_draw", args=[campaign.pk]), data, **HTMX)
    draw = Draw.objects.get()
    for response in (first, second):
        assert f'data-draw-id="{draw.pk}" hidden' in response.content.decode()
    assert balance(member) == 1000 - 50 + (20 if draw.prize_id else 0)
