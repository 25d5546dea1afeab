"""The lottery admin: campaigns with their prizes, publishing, frozen terms, the report pages."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from lottery.models import Draw, DrawerState, LotteryCampaign, LotteryPolicy, LotteryPrize, PrizeRelease
from tests.catalog.factories import make_product
from tests.factories import StaffFactory
from tests.lottery.lottery_admin_helpers import campaign_post, draft, operator_member, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client):
    user = StaffFactory()
    client.force_login(user)
    return user


@pytest.fixture
def item(db):
    return make_product()


def _messages(response) -> str:
    return " | ".join(str(m) for m in response.wsgi_request._messages)


def _change_url(campaign) -> str:
    return reverse("admin:lottery_lotterycampaign_change", args=[campaign.pk])


def _state(campaign) -> tuple:
    campaign.refresh_from_db()
    prizes = list(
        LotteryPrize.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("pk", "name", "kind", "points", "weight_bp", "quantity", "remaining", "daily_cap")
    )
    return (campaign.name, campaign.cost_points, campaign.starts_at, campaign.ends_at, campaign.published_at, prizes)


# --- Creating a campaign ------------------------------------------------------------------------


def test_a_new_campaign_gets_a_seed_and_its_hash_and_the_seed_stays_hidden(client, superuser):
    response = client.post(reverse("admin:lottery_lotterycampaign_add"), campaign_post())

    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = LotteryCampaign.objects.get(name="新转盘")
    assert len(campaign.seed) == 64
    assert campaign.seed_hash == hashlib.sha256(campaign.seed.encode()).hexdigest()
    assert list(campaign.prizes.values_list("name", "weight_bp")) == [("100积分", 2000), ("谢谢参与", 8000)]
    page = client.get(_change_url(campaign)).content.decode()
    assert campaign.seed_hash in page
    assert campaign.seed not in page
    assert "Hidden until the campaign has ended." in page


def test_the_seed_is_shown_once_revealed(client, superuser, item):
    campaign = published(product=item)
    LotteryCampaign.objects.filter(pk=campaign.pk).update(revealed_at=campaign.published_at)

    assert campaign.seed in client.get(_change_url(campaign)).content.decode()


def test_the_tier_boxes_are_labelled_with_the_tier_names(client, superuser):
    page = client.get(reverse("admin:lottery_lotterycampaign_add")).content.decode()

    for name in ("Regular", "Silver", "Gold", "Diamond"):
        assert name in page


def test_the_consolation_prize_is_one_of_the_campaigns_own_prizes(client, superuser, item):
    campaign, other = draft(product=item), draft(product=item, name="另一个")
    foreign = other.prizes.exclude(kind="none").first()

    response = client.post(_change_url(campaign), campaign_post(campaign, consolation_prize=str(foreign.pk)))

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.consolation_prize_id is None


# --- Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at_0": "2020-01-01"}, "The campaign must end after it starts."),
        ({"cost_points": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"cost_points": "1000001"}, "Ensure this value is less than or equal to 1000000."),
        ({"cost_points": "lots"}, "Enter a whole number."),
        ({"daily_limit": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"daily_limit": str(2**31)}, "Ensure this value is less than or equal to 2147483647."),
        ({"daily_limit": "5", "campaign_limit": "3"}, "Can&#x27;t be above the draws per member in the campaign (3)."),
        ({"pity_after": "1001"}, "Ensure this value is less than or equal to 1000."),
        ({"name": "转\u202e盘"}, "Remove the invisible or direction-changing character U+202E"),
        ({"name": ""}, "This field is required."),
        ({"tier_codes": "emperor"}, "Select a valid choice. emperor is not one of the available choices."),
        ({"style": "slot"}, "Select a valid choice. slot is not one of the available choices."),
        ({"prizes-0-weight_bp": "10001"}, "Ensure this value is less than or equal to 10000."),
        ({"prizes-0-weight_bp": "9000"}, "add up to 17000 basis points: at most 10000 (100%)."),
        ({"prizes-0-points": ""}, "A points prize needs its points (at least 1)."),
        ({"prizes-0-quantity": str(2**31)}, "Ensure this value is less than or equal to 2147483647."),
        ({"prizes-0-daily_cap": "11"}, "Can&#x27;t be above the quantity (10)."),
        ({"prizes-0-market_value": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"prizes-0-kind": "product", "prizes-0-points": ""}, "Choose the catalog item members win."),
        ({"prizes-1-quantity": "5"}, "“No prize” has no quantity or daily cap."),
        ({"prizes-1-name": "谢谢\u200b参与"}, "Remove the invisible or direction-changing character U+200B"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_written(client, superuser, overrides, message):
    response = client.post(reverse("admin:lottery_lotterycampaign_add"), campaign_post(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not LotteryCampaign.objects.exists()
    assert not LotteryPrize.objects.exists()


def test_the_policy_refuses_a_cap_above_the_law(client, superuser):
    url = reverse("admin:lottery_lotterypolicy_change", args=[1])
    response = client.post(url, {"win_floor_bp": "1000", "top_prize_cap": "50000.01"})

    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 50000." in response.content.decode()
    assert not LotteryPolicy.objects.exists()


# --- Publishing -----------------------------------------------------------------------------------


def _prizes_with(**changes):
    from tests.lottery.lottery_admin_helpers import PRIZES

    rows = [dict(row) for row in PRIZES]
    for index, values in changes.items():
        rows[int(index.removeprefix("p"))].update(values)
    return rows


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ({"prizes": _prizes_with(p3={"weight_bp": 8000})}, "The probabilities add up to 98.50%, not 100%."),
        (
            {"prizes": _prizes_with(p1={"weight_bp": 500}, p3={"weight_bp": 9150})},
            "The chance of winning is 8.50%, below the 10.00% required.",
        ),
        (
            {"prizes": _prizes_with(p2={"market_value": Decimal("50000.01")})},
            "Prize “电影票” is worth ¥50000.01, more than the ¥50000 allowed.",
        ),
        ({"description": ""}, "Describe the campaign and its rules."),
        ({"prizes": _prizes_with(p0={"quantity": None})}, "Prize “500积分”: publish its quantity."),
    ],
    ids=["odds", "win floor", "top prize", "disclosure", "quantity"],
)
def test_publishing_is_refused_with_each_problem_and_nothing_written(client, superuser, item, setup, problem):
    campaign = draft(product=item, **setup)
    before = _state(campaign)

    response = client.post(reverse("admin:lottery_lotterycampaign_publish", args=[campaign.pk]), follow=True)

    assert response.status_code == 200
    assert problem in _messages(response)
    assert _state(campaign) == before
    assert campaign.published_at is None


def test_the_publish_button_publishes_and_the_prizes_get_their_stock(client, superuser, item):
    campaign = draft(product=item)
    assert "lottery-publish" in client.get(_change_url(campaign)).content.decode()

    response = client.post(reverse("admin:lottery_lotterycampaign_publish", args=[campaign.pk]), follow=True)

    assert "Published 1 campaign(s)." in _messages(response)
    campaign.refresh_from_db()
    assert campaign.published_at is not None
    assert list(campaign.prizes.order_by("position").values_list("remaining", flat=True)) == [20, 1000, 5, None]
    assert "lottery-publish" not in client.get(_change_url(campaign)).content.decode()


def test_publishing_needs_a_post(client, superuser, item):
    campaign = draft(product=item)

    assert client.get(reverse("admin:lottery_lotterycampaign_publish", args=[campaign.pk])).status_code == 405
    campaign.refresh_from_db()
    assert campaign.published_at is None


def test_the_publish_action_reports_each_campaign(client, superuser, item):
    good, bad = draft(product=item), draft(product=item, name="坏的", description="")

    response = client.post(
        reverse("admin:lottery_lotterycampaign_changelist"),
        {"action": "publish", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )

    text = _messages(response)
    assert "坏的 was not published: The campaign can&#x27;t be published" in text or "坏的 was not published" in text
    assert "Describe the campaign and its rules." in text
    assert "Published 1 campaign(s)." in text
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.published_at is not None
    assert bad.published_at is None


# --- Frozen after publication ----------------------------------------------------------------------


def test_a_published_campaign_shows_its_terms_read_only(client, superuser, item):
    campaign = published(product=item, tier_codes=["gold", "diamond"])

    page = client.get(_change_url(campaign)).content.decode()

    assert 'name="name"' not in page
    assert 'name="cost_points"' not in page
    assert 'name="prizes-0-weight_bp"' not in page
    assert "Gold, Diamond" in page
    assert "terms and prizes are frozen (promotion rules). Only its image can still change." in page


@pytest.mark.parametrize(
    ("overrides", "attempt"),
    [
        ({"name": "改名"}, "name"),
        ({"cost_points": "1"}, "cost_points"),
        ({"ends_at_0": "2099-01-01"}, "ends_at"),
        ({"prizes-0-weight_bp": "5000"}, "prize {p0}: weight_bp"),
        ({"prizes-2-quantity": "500"}, "prize {p2}: quantity"),
        ({"prizes-1-DELETE": "on"}, "prize {p1}: delete"),
        (
            {"prizes-TOTAL_FORMS": "5", "prizes-4-name": "新奖", "prizes-4-kind": "points", "prizes-4-weight_bp": "1"},
            "new prize",
        ),
    ],
    ids=["name", "cost", "window", "odds", "quantity", "delete prize", "add prize"],
)
def test_changing_a_published_campaign_is_refused_and_the_attempt_recorded(client, superuser, item, overrides, attempt):
    campaign = published(product=item)
    prizes = list(campaign.prizes.order_by("position", "pk").values_list("pk", flat=True))
    attempt = attempt.format(**{f"p{i}": pk for i, pk in enumerate(prizes)})
    before = _state(campaign)

    response = client.post(_change_url(campaign), campaign_post(campaign, **overrides), follow=True)

    assert response.status_code == 200
    text = _messages(response)
    assert "This campaign is published: its terms and prizes can&#x27;t change." in text or (
        "This campaign is published: its terms and prizes can't change." in text
    )
    assert attempt in text
    assert _state(campaign) == before
    entry = LogEntry.objects.get(object_id=str(campaign.pk), content_type__model="lotterycampaign")
    assert entry.user_id == superuser.pk
    assert entry.change_message == f"Refused (published): {attempt}"


def test_saving_a_published_campaign_unchanged_changes_nothing_and_logs_no_refusal(client, superuser, item):
    campaign = published(product=item)
    before = _state(campaign)

    response = client.post(_change_url(campaign), campaign_post(campaign))

    assert response.status_code == 302
    assert _state(campaign) == before
    assert not LogEntry.objects.filter(change_message__startswith="Refused").exists()


def test_a_published_campaign_cannot_be_deleted(client, superuser, item):
    campaign = published(product=item)

    response = client.post(reverse("admin:lottery_lotterycampaign_delete", args=[campaign.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert LotteryCampaign.objects.filter(pk=campaign.pk).exists()


# --- Every page opens ------------------------------------------------------------------------------


def _pages(campaign) -> list[str]:
    draw = Draw.objects.first()
    pages = [
        reverse("admin:lottery_lotterycampaign_changelist"),
        reverse("admin:lottery_lotterycampaign_add"),
        _change_url(campaign),
        reverse("admin:lottery_lotterycampaign_history", args=[campaign.pk]),
        reverse("admin:lottery_lotterycampaign_report", args=[campaign.pk]),
        reverse("admin:lottery_lotterycampaign_report_csv", args=[campaign.pk]),
        reverse("admin:lottery_lotterycampaign_draws_csv", args=[campaign.pk]),
        reverse("admin:lottery_lotterypolicy_change", args=[1]),
        reverse("admin:lottery_lotterypolicy_history", args=[1]),
        reverse("admin:lottery_draw_changelist"),
        reverse("admin:lottery_draw_change", args=[draw.pk]),
        reverse("admin:lottery_drawerstate_changelist"),
        reverse("admin:lottery_prizerelease_changelist"),
    ]
    return pages


@pytest.mark.parametrize("who", ["superuser", "operator"])
def test_every_lottery_admin_page_opens(client, item, who):
    from tests.factories import MemberFactory

    campaign = published(product=item)
    member = MemberFactory()
    prize = campaign.prizes.first()
    Draw.objects.create(
        campaign=campaign, member=member, idempotency_key="k1", client_seed="c", nonce=1, number=5,
        picked=prize, prize=prize, outcome="won", cost_points=50,
    )  # fmt: skip
    DrawerState.objects.create(campaign=campaign, member=member, draws=1, since_win=0)
    PrizeRelease.objects.create(prize=prize, day=campaign.starts_at.date(), released=1)
    client.force_login(StaffFactory() if who == "superuser" else operator_member())

    for url in _pages(campaign):
        response = client.get(url)
        assert response.status_code == 200, url


def test_customer_service_reads_campaigns_and_draws_but_cannot_publish(client, item):
    from django.contrib.auth.models import Group

    from tests.factories import MemberFactory

    campaign = draft(product=item)
    agent = MemberFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Customer service"))
    client.force_login(agent)

    assert client.get(_change_url(campaign)).status_code == 200
    assert client.get(reverse("admin:lottery_lotterycampaign_report", args=[campaign.pk])).status_code == 200
    assert client.get(reverse("admin:lottery_draw_changelist")).status_code == 200
    assert client.post(reverse("admin:lottery_lotterycampaign_publish", args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.published_at is None


def test_operators_cannot_delete_service_written_rows(db):
    user = operator_member()

    assert user.has_perm("lottery.change_lotterycampaign")
    assert user.has_perm("lottery.view_draw")
    assert not user.has_perm("lottery.delete_draw")
    assert not user.has_perm("lottery.change_draw")
    assert not user.has_perm("lottery.delete_prizerelease")
    assert not user.has_perm("lottery.delete_drawerstate")


def test_the_history_page_keeps_the_refused_attempt(client, superuser, item):
    campaign = published(product=item)
    client.post(_change_url(campaign), campaign_post(campaign, name="改名"))

    page = client.get(reverse("admin:lottery_lotterycampaign_history", args=[campaign.pk])).content.decode()

    assert "Refused (published): name" in page


def test_an_operator_publishes_a_campaign(client, item):
    campaign = draft(product=item)
    client.force_login(operator_member())

    response = client.post(reverse("admin:lottery_lotterycampaign_publish", args=[campaign.pk]), follow=True)

    assert "Published 1 campaign(s)." in _messages(response)
    campaign.refresh_from_db()
    assert campaign.published_at is not None


def test_a_published_campaign_s_image_may_still_change(client, superuser, item, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    campaign = published(product=item)
    before = _state(campaign)
    gif = (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
        b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )

    response = client.post(
        _change_url(campaign), {**campaign_post(campaign), "image": SimpleUploadedFile("w.gif", gif, "image/gif")}
    )

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.image.name.startswith("lottery/")
    assert _state(campaign) == before
