"""What the ledger's selectors show a member about lots and expiry."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from points import selectors, services
from points.enums import ExpiryMode, LotStatus
from points.models import ExpiryPolicy
from points.selectors import ExpiringPoints
from tests.points.helpers import SHANGHAI, T0


def test_lots_list_the_soonest_expiry_first_and_never_expiring_points_last(member, clock):
    # The policy is operator configuration (edited in admin), not ledger state.
    ExpiryPolicy.objects.filter(pk=1).update(mode=ExpiryMode.NEVER)
    services.points_earn(user_id=member.pk, amount=10, idempotency_key="forever")
    ExpiryPolicy.objects.filter(pk=1).update(mode=ExpiryMode.ROLLING_MONTHS)
    services.points_earn(user_id=member.pk, amount=20, idempotency_key="policy")
    services.points_earn(
        user_id=member.pk, amount=30, idempotency_key="soon", expires_at=datetime(2025, 2, 1, tzinfo=SHANGHAI)
    )

    lots = selectors.lots(user_id=member.pk)

    assert [(lot.amount, lot.status, lot.expires_on) for lot in lots] == [
        (30, LotStatus.AVAILABLE, date(2025, 1, 31)),
        (20, LotStatus.AVAILABLE, date(2026, 1, 10)),
        (10, LotStatus.AVAILABLE, None),
    ]
    assert services.points_verify().ok


def test_balance_summary_groups_expiring_points_by_their_last_business_day(member, clock):
    for key, expires_at in [
        ("noon", datetime(2025, 1, 31, 12, 0, tzinfo=SHANGHAI)),
        ("midnight", datetime(2025, 2, 1, 0, 0, tzinfo=SHANGHAI)),
        ("next-day", datetime(2025, 2, 1, 0, 0, 1, tzinfo=SHANGHAI)),
        ("later", T0 + timedelta(days=31)),
    ]:
        services.points_earn(user_id=member.pk, amount=10, idempotency_key=key, expires_at=expires_at)
    services.points_earn(user_id=member.pk, amount=5, idempotency_key="pending", available_at=T0 + timedelta(days=7))

    summary = selectors.balance_summary(user_id=member.pk)

    assert summary.expiring == [ExpiringPoints(date(2025, 1, 31), 20), ExpiringPoints(date(2025, 2, 1), 10)]
    assert (summary.available, summary.pending, summary.expiring_soon) == (40, 5, 30)
    assert summary.next_expiry == ExpiringPoints(date(2025, 1, 31), 20)
    assert summary.next_pending_at == T0 + timedelta(days=7)
    assert services.points_verify().ok
