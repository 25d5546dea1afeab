"""Publishing: the disclosure and the odds are checked, then the campaign is frozen; seeds revealed after the end."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from lottery import rules, services
from lottery.exceptions import CampaignInvalidError, CampaignNotFoundError
from lottery.models import LotteryCampaign, LotteryPolicy, LotteryPrize, PrizeKind
from tests.lottery.core_helpers import DEFAULT_PRIZES, T0, make_campaign

pytestmark = pytest.mark.django_db

BEFORE = T0 - timedelta(days=2)  # make_campaign's campaigns start at T0 - 1 day


def _refused(campaign, now=BEFORE) -> list[str]:
    with pytest.raises(CampaignInvalidError) as caught:
        services.lottery_campaign_publish(campaign_id=campaign.pk, now=now)
    campaign.refresh_from_db()
    assert campaign.published_at is None
    assert list(campaign.prizes.values_list("remaining", flat=True)) == [None] * campaign.prizes.count()
    assert caught.value.code == "lottery_campaign_invalid"
    return caught.value.problems


def test_create_makes_a_seed_and_its_hash():
    campaign = make_campaign(publish=False)
    assert len(campaign.seed) == 64
    assert campaign.seed_hash == rules.seed_hash(campaign.seed)
    seed, digest = services.lottery_seed_new()
    assert digest == rules.seed_hash(seed) and seed != campaign.seed


def test_publish_sets_published_and_remaining():
    campaign = make_campaign(publish=False)
    services.lottery_campaign_publish(campaign_id=campaign.pk, now=BEFORE)
    campaign.refresh_from_db()
    assert campaign.published_at == BEFORE
    assert list(campaign.prizes.order_by("position").values_list("remaining", flat=True)) == [50, 500, None]
    assert rules.campaign_is_frozen(campaign)
    # Safe to call twice: nothing changes.
    LotteryPrize.objects.filter(campaign=campaign, position=0).update(remaining=3)
    services.lottery_campaign_publish(campaign_id=campaign.pk, now=T0 + timedelta(hours=1))
    campaign.refresh_from_db()
    assert campaign.published_at == BEFORE
    assert campaign.prizes.get(position=0).remaining == 3


def test_odds_not_adding_up_to_100_percent_are_refused():
    prizes = [dict(p) for p in DEFAULT_PRIZES]
    prizes[2]["weight_bp"] = 6999
    problems = _refused(make_campaign(prizes=prizes, publish=False))
    assert problems == ["The probabilities add up to 99.99%, not 100%."]


def test_win_rate_below_the_floor_is_refused():
    prizes = [dict(p) for p in DEFAULT_PRIZES]
    prizes[0]["weight_bp"], prizes[1]["weight_bp"], prizes[2]["weight_bp"] = 300, 600, 9100
    problems = _refused(make_campaign(prizes=prizes, publish=False))
    assert problems == ["The chance of winning is 9.00%, below the 10.00% required."]


def test_the_floor_is_the_policy():
    policy = LotteryPolicy.load()
    policy.win_floor_bp = 3500
    policy.save()
    problems = _refused(make_campaign(publish=False))
    assert problems == ["The chance of winning is 30.00%, below the 35.00% required."]


def test_a_top_prize_over_the_cap_is_refused():
    prizes = [dict(p) for p in DEFAULT_PRIZES]
    prizes[0]["market_value"] = Decimal("50000.01")
    problems = _refused(make_campaign(prizes=prizes, publish=False))
    assert problems == ["Prize “一百积分” is worth ¥50000.01, more than the ¥50000 allowed."]


def test_missing_disclosure_lists_every_problem():
    prizes = [
        {"name": "积分", "kind": PrizeKind.POINTS, "weight_bp": 2000, "quantity": 10},
        {"name": "商品", "kind": PrizeKind.PRODUCT, "weight_bp": 1000},
        {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 7000},
    ]
    campaign = make_campaign(prizes=prizes, publish=False, description="")
    problems = _refused(campaign)
    assert problems == [
        "Describe the campaign and its rules.",
        "Prize “积分”: a points prize needs its points.",
        "Prize “商品”: choose the catalog item it delivers.",
        "Prize “商品”: publish its quantity.",
    ]
    assert "Describe the campaign" in str(CampaignInvalidError(problems=problems))


def test_an_ended_campaign_and_no_prizes_are_refused():
    campaign = make_campaign(prizes=[], publish=False, ends_at=T0 - timedelta(hours=1))
    assert _refused(campaign, now=T0) == ["The campaign has already ended.", "Add the prizes."]


def test_a_campaign_already_started_is_refused():
    campaign = make_campaign(publish=False)  # started at T0 - 1 day
    with pytest.raises(CampaignInvalidError) as caught:
        services.lottery_campaign_publish(campaign_id=campaign.pk, now=campaign.starts_at)
    assert caught.value.problems == ["The campaign has already started: set a later start."]
    campaign.refresh_from_db()
    assert campaign.published_at is None
    assert list(campaign.prizes.values_list("remaining", flat=True)) == [None, None, None]


def test_an_unknown_campaign_is_not_found():
    with pytest.raises(CampaignNotFoundError):
        services.lottery_campaign_publish(campaign_id=999_999, now=T0)


def test_seeds_are_revealed_once_the_campaign_has_ended():
    ended = make_campaign(
        ends_at=T0 - timedelta(minutes=1), starts_at=T0 - timedelta(days=3), now=T0 - timedelta(days=1)
    )
    running = make_campaign()
    unpublished = make_campaign(publish=False, ends_at=T0 - timedelta(minutes=1), starts_at=T0 - timedelta(days=3))
    assert services.lottery_seeds_reveal(now=T0) == 1
    assert services.lottery_seeds_reveal(now=T0) == 0
    states = dict(LotteryCampaign.objects.values_list("pk", "revealed_at"))
    assert states == {ended.pk: T0, running.pk: None, unpublished.pk: None}


def test_the_reveal_command(capsys):
    make_campaign(ends_at=T0 - timedelta(minutes=1), starts_at=T0 - timedelta(days=3), now=T0 - timedelta(days=1))
    call_command("lottery_seeds_reveal")
    assert "Revealed 1 campaign seeds." in capsys.readouterr().out
    assert LotteryCampaign.objects.filter(revealed_at__isnull=False).count() == 1


def test_the_beat_runs_the_reveal_job(settings):
    from lottery import jobs

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "lottery.seeds_reveal"]
    assert len(entries) == 1
    assert jobs.lottery_seeds_reveal.name == "lottery.seeds_reveal"
