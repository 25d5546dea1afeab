"""A member whose points account is frozen cannot draw in a lottery that costs points (docs/decisions/0055)."""

from __future__ import annotations

import pytest
import time_machine

from points import services as points_services
from points.exceptions import AccountFrozenError
from tests.factories import StaffFactory
from tests.lottery.core_helpers import T0, balance, draw, make_campaign, member_with, snapshot


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_a_frozen_member_cannot_draw_and_nothing_is_written(db):
    campaign = make_campaign()
    user = member_with(1000)
    operator = StaffFactory()
    points_services.points_account_freeze(user_id=user.pk, actor_id=operator.pk, reason="Review")
    before = snapshot()
    with pytest.raises(AccountFrozenError, match=r"^Your points account is frozen"):
        draw(user, campaign)
    assert (snapshot(), balance(user)) == (before, 1000)

    points_services.points_account_unfreeze(user_id=user.pk, actor_id=operator.pk, reason="Cleared")
    draw(user, campaign)
    assert snapshot()["draws"] == before["draws"] + 1
    assert points_services.points_verify().ok
