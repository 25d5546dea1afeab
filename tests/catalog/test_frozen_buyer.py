"""A member whose points account is frozen cannot redeem (docs/decisions/0055)."""

from __future__ import annotations

import pytest

from catalog import services
from points import services as points_services
from points.exceptions import AccountFrozenError
from tests.catalog.conftest import PIN
from tests.factories import StaffFactory

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


def test_a_frozen_member_cannot_redeem_and_nothing_is_written_until_unfrozen(
    buyer, make_product, make_address, nothing_written
):
    product = make_product(points_price=100)
    address_id = make_address(buyer)
    operator = StaffFactory()
    points_services.points_account_freeze(user_id=buyer.pk, actor_id=operator.pk, reason="Review")

    def redeem(key):
        return services.order_redeem(
            user_id=buyer.pk, product_id=product.pk, quantity=1, idempotency_key=key, pin=PIN, address_id=address_id
        )

    with nothing_written(), pytest.raises(AccountFrozenError, match=r"^Your points account is frozen"):
        redeem("k1")

    points_services.points_account_unfreeze(user_id=buyer.pk, actor_id=operator.pk, reason="Cleared")
    assert redeem("k2").points_total == 100
