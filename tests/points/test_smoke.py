from points import selectors, services


def test_earn_spend_refund_roundtrip(member):
    earn = services.points_earn(user_id=member.pk, amount=100, idempotency_key="t:earn")
    spend = services.points_spend(user_id=member.pk, amount=30, idempotency_key="t:spend", memo="Redeemed: Mug ×1")
    assert (earn.balance, spend.balance) == (100, 70)
    refund = services.points_refund(user_id=member.pk, spend_entry_id=spend.entry_id, idempotency_key="t:refund")
    assert refund.balance == 100
    assert services.points_verify().ok
    assert selectors.header_balance(user_id=member.pk) == 100
