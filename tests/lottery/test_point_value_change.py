"""The value of a point has a sane upper bound (points.validators.MAX_YUAN_PER_POINT, docs/decisions
/0014), and a change of it (or of the top-prize cap) warns the operator about every live campaign
whose prizes it puts above the top-prize cap; publication still refuses such prizes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from lottery import selectors, services
from lottery.exceptions import CampaignInvalidError
from lottery.models import LotteryPolicy, PrizeKind
from points import selectors as points_selectors
from points.models import PointValuePolicy
from points.validators import MAX_YUAN_PER_POINT
from tests.factories import StaffFactory
from tests.lottery.core_helpers import T0, make_campaign

pytestmark = pytest.mark.django_db

POLICY_URL = reverse("admin:points_pointvaluepolicy_change", args=[1])
BIG = [
    {
        "name": "五千积分",
        "name_en": "5,000 points",
        "kind": PrizeKind.POINTS,
        "points": 5000,
        "weight_bp": 1000,
        "quantity": 1,
    },
    {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 9000},
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def operator(client, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def cap_100():
    """A top-prize cap of ¥100: 5,000 points are ¥50 at 0.01 a point, ¥250 at 0.05."""
    LotteryPolicy.objects.update_or_create(pk=1, defaults={"top_prize_cap": Decimal("100")})


def _warnings(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "warning"]


# --- The bound ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e3", "1000", "1.0001", "100000", "9999.9999", "0", "-1", "abc", "NaN"])
def test_an_absurd_point_value_is_refused_with_a_message_and_nothing_saved(operator, value):
    response = operator.post(POLICY_URL, {"yuan_per_point": value})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["yuan_per_point"]
    assert points_selectors.point_value_yuan() == Decimal("0.01")
    assert PointValuePolicy.history.count() == 0


def test_the_bound_itself_is_accepted(operator):
    response = operator.post(POLICY_URL, {"yuan_per_point": "1"})
    assert response.status_code == 302
    assert points_selectors.point_value_yuan() == MAX_YUAN_PER_POINT == Decimal(1)


def test_the_model_and_the_database_refuse_a_value_above_the_bound():
    policy = PointValuePolicy.load()
    policy.yuan_per_point = Decimal("1.0001")
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "yuan_per_point" in caught.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        PointValuePolicy.objects.filter(pk=1).update(yuan_per_point=Decimal("1000"))
    assert points_selectors.point_value_yuan() == Decimal("0.01")


# --- The warning -------------------------------------------------------------------------------


def test_a_new_point_value_lists_the_live_campaigns_it_puts_over_the_cap(operator, cap_100):
    live = make_campaign(prizes=BIG, name="双十一转盘", name_en="Double 11 wheel")
    upcoming = make_campaign(prizes=BIG, name="下周转盘", name_en="Next week", starts_at=T0 + timedelta(days=3))
    make_campaign(prizes=BIG, name="已结束", starts_at=T0 - timedelta(days=9), ends_at=T0 - timedelta(hours=1))
    make_campaign(prizes=BIG, name="草稿", publish=False)

    response = operator.post(POLICY_URL, {"yuan_per_point": "0.05"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert points_selectors.point_value_yuan() == Decimal("0.05")  # saved: a warning, not a refusal
    warnings = _warnings(response)
    assert len(warnings) == 2
    assert "Double 11 wheel" in warnings[0] and "5,000 points" in warnings[0]
    assert "¥250.00" in warnings[0] and "¥100.00" in warnings[0]
    assert "Next week" in warnings[1]
    assert [row.campaign_id for row in selectors.prizes_over_cap(point_value_yuan=Decimal("0.05"))] == [
        live.pk,
        upcoming.pk,
    ]


def test_a_value_that_keeps_every_prize_under_the_cap_warns_nothing(operator, cap_100):
    make_campaign(prizes=BIG)
    response = operator.post(POLICY_URL, {"yuan_per_point": "0.02"}, follow=True)
    assert points_selectors.point_value_yuan() == Decimal("0.02")
    assert _warnings(response) == []


def test_a_lower_top_prize_cap_lists_the_live_campaigns_too(operator):
    make_campaign(prizes=BIG, name_en="Double 11 wheel")
    response = operator.post(
        reverse("admin:lottery_lotterypolicy_change", args=[1]),
        {"win_floor_bp": "1000", "top_prize_cap": "20"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    warnings = _warnings(response)
    assert len(warnings) == 1 and "Double 11 wheel" in warnings[0] and "¥50.00" in warnings[0]


def test_publication_still_refuses_a_prize_over_the_cap_at_the_new_value(operator, cap_100):
    operator.post(POLICY_URL, {"yuan_per_point": "0.05"})
    campaign = make_campaign(prizes=BIG, publish=False)
    with pytest.raises(CampaignInvalidError) as caught:
        services.lottery_campaign_publish(campaign_id=campaign.pk, now=T0 - timedelta(days=2))
    assert any("¥250.00" in problem for problem in caught.value.problems)
