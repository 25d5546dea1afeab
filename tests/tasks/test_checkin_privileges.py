"""The catalog's check-in privileges, bought and used end to end: a redeemed make-up card pays for
a make-up, a redeemed multiplier card boosts check-ins (docs/decisions/0020, 0024)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from catalog.enums import OrderStatus, PrivilegeEffect, ProductKind
from catalog.models import OrderEffect
from points import services as points_services
from tasks import selectors, services
from tasks.models import CheckinBoost, MakeupCardGrant
from tests.catalog.factories import make_member, make_product, redeem
from tests.tasks.checkin_support import JOINED, SHANGHAI, T0

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ledger_stays_consistent():
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


@pytest.fixture
def buyer():
    with time_machine.travel(JOINED, tick=False):
        return make_member(points=1000)


def test_a_redeemed_make_up_card_pays_for_a_make_up(buyer):
    with time_machine.travel(T0, tick=False):
        card = make_product(kind=ProductKind.PRIVILEGE, effect=PrivilegeEffect.MAKEUP_CARD, points_price=30)
        order = redeem(buyer, card, quantity=2)
        assert order.status == OrderStatus.COMPLETED
        effect = OrderEffect.objects.get(order=order)
        assert effect.reference == f"catalog.order:{order.pk}:effect"
        assert selectors.makeup_cards_left(user_id=buyer.pk) == 2
        result = services.checkin_makeup(user_id=buyer.pk, day=date(2026, 1, 13), pay_with="card")
    assert (result.points, result.makeup) == (5, True)
    grant = MakeupCardGrant.objects.get(member=buyer)
    assert (grant.quantity, grant.used, grant.reference) == (2, 1, f"catalog.order:{order.pk}")
    assert selectors.makeup_cards_left(user_id=buyer.pk) == 1


def test_a_redeemed_multiplier_card_boosts_check_ins_for_its_days(buyer):
    with time_machine.travel(T0, tick=False):
        boost_card = make_product(
            kind=ProductKind.PRIVILEGE,
            effect=PrivilegeEffect.CHECKIN_MULTIPLIER,
            effect_days=3,
            effect_multiplier=Decimal("2"),
            points_price=50,
        )
        order = redeem(buyer, boost_card)
        effect = OrderEffect.objects.get(order=order)
        assert (effect.starts_at, effect.ends_at) == (T0, T0 + timedelta(days=3))
    boost = CheckinBoost.objects.get(member=buyer)
    assert (boost.multiplier, boost.idempotency_key) == (Decimal("2.00"), f"catalog.order:{order.pk}:effect")
    paid = []
    for offset in range(4):
        with time_machine.travel(T0 + timedelta(days=offset, hours=1), tick=False):
            paid.append(services.checkin_record(user_id=buyer.pk).points)
    # 5 × 2 from the card, then × 1.1 for Silver (the 1,000 points earned), rounded down.
    assert paid == [11, 11, 11, 5]


def test_the_check_in_page_shows_what_was_bought(client, buyer):
    with time_machine.travel(datetime(2026, 1, 14, 12, 0, tzinfo=SHANGHAI), tick=False):
        card = make_product(kind=ProductKind.PRIVILEGE, effect=PrivilegeEffect.MAKEUP_CARD, points_price=30)
        redeem(buyer, card)
        client.force_login(buyer)
        html = client.get("/checkin/").content.decode()
    assert 'data-testid="checkin-cards">1<' in html
    assert 'data-testid="makeup-card-2026-01-13"' in html
