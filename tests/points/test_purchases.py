from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from points import exceptions, services
from points.exceptions import IdempotencyConflictError
from points.models import Account, Entry, Purchase, PurchaseRate

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = datetime(2026, 5, 1, 10, tzinfo=SHANGHAI)


def account(user):
    return Account.objects.get(user=user)


def test_purchase_earns_points_per_yuan_pending_for_the_window_plus_first_purchase_bonus(member):
    with time_machine.travel(DAY0, tick=False):
        result = services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("129.90"))
    assert (result.points, result.bonus) == (129, 50)
    assert result.available_at == DAY0 + timedelta(days=7)
    acc = account(member)
    assert (acc.balance, acc.pending) == (0, 179)
    with time_machine.travel(DAY0 + timedelta(days=7), tick=False):
        services.points_vest()
    acc = account(member)
    assert (acc.balance, acc.pending) == (179, 0)
    assert services.points_verify().ok


def test_second_purchase_gets_no_bonus(member):
    services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("10"))
    second = services.purchase_record(user_id=member.pk, external_id="SO-2", amount=Decimal("10"))
    assert second.bonus == 0
    assert account(member).pending == 70


def test_purchase_replay_and_conflict(member, other_member):
    services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("10"))
    again = services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("10"))
    assert again.replayed and again.points == 10
    before = Entry.objects.count()
    with pytest.raises(IdempotencyConflictError):
        services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("11"))
    with pytest.raises(IdempotencyConflictError):
        services.purchase_record(user_id=other_member.pk, external_id="SO-1", amount=Decimal("10"))
    assert Entry.objects.count() == before


def test_category_and_sku_rates_and_exclusions(member):
    PurchaseRate.objects.create(scope="category", key="food", excluded=True)
    PurchaseRate.objects.create(scope="category", key="electronics", points_per_yuan=Decimal("2"))
    PurchaseRate.objects.create(scope="sku", key="TV-55", points_per_yuan=Decimal("0.5"))
    lines = [
        services.PurchaseLine(amount=Decimal("30"), category="food"),
        services.PurchaseLine(amount=Decimal("100"), category="electronics"),
        services.PurchaseLine(amount=Decimal("1000"), sku="TV-55", category="electronics"),
        services.PurchaseLine(amount=Decimal("20.5"), category="books"),
    ]
    result = services.purchase_record(user_id=member.pk, external_id="SO-9", amount=Decimal("1150.5"), lines=lines)
    assert result.points == 0 + 200 + 500 + 20


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (Decimal("0"), "the amount must be more than 0"),
        (Decimal("-5"), "the amount must be more than 0"),
        (Decimal("10.001"), "more than two decimals"),
        (Decimal("NaN"), "the amount must be more than 0"),
        (Decimal("2000000"), "at most 1,000,000 yuan"),
    ],
)
def test_bad_purchases_are_refused_and_write_nothing(member, amount, reason):
    with pytest.raises(exceptions.InvalidPurchaseError, match=reason):
        services.purchase_record(user_id=member.pk, external_id="SO-1", amount=amount)
    assert (Purchase.objects.count(), Entry.objects.count()) == (0, 0)


def test_lines_must_add_up(member):
    with pytest.raises(exceptions.ItemsDoNotAddUpError, match="The items add up to 9 yuan, not to the purchase"):
        services.purchase_record(
            user_id=member.pk,
            external_id="SO-1",
            amount=Decimal("10"),
            lines=[services.PurchaseLine(amount=Decimal("9"))],
        )
    assert Purchase.objects.count() == 0


def test_refund_inside_the_window_cancels_pending_points(member):
    with time_machine.travel(DAY0, tick=False):
        services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("100"))
    with time_machine.travel(DAY0 + timedelta(days=3), tick=False):
        half = services.purchase_refund(external_id="SO-1", amount=Decimal("50"), idempotency_key="r1")
        assert half.points_taken_back == 50
        assert account(member).pending == 100  # 50 purchase points left + the 50 bonus
        services.purchase_refund(external_id="SO-1", idempotency_key="r2")
    acc = account(member)
    assert (acc.balance, acc.pending, acc.debt) == (0, 0, 0)
    assert services.points_verify().ok


def test_refund_after_the_window_reverses_and_records_debt_if_spent(member):
    with time_machine.travel(DAY0, tick=False):
        services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("100"))
    with time_machine.travel(DAY0 + timedelta(days=8), tick=False):
        services.points_spend(user_id=member.pk, amount=120, idempotency_key="s")
        services.purchase_refund(external_id="SO-1", idempotency_key="r")
    acc = account(member)
    # 150 vested, 120 spent, 30 left; taking back 100 + 50 bonus leaves 120 owed.
    assert (acc.balance, acc.debt) == (0, 120)
    assert services.points_verify().ok


def test_partial_refunds_take_back_in_proportion_rounded_down_and_never_more(member):
    services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("3"))
    purchase_points = Purchase.objects.get().points
    assert purchase_points == 3
    taken = [
        services.purchase_refund(external_id="SO-1", amount=Decimal("1"), idempotency_key=f"r{i}").points_taken_back
        for i in range(3)
    ]
    assert taken == [1, 2, 3]
    with pytest.raises(exceptions.AlreadyFullyRefundedError, match="already refunded in full"):
        services.purchase_refund(external_id="SO-1", amount=Decimal("1"), idempotency_key="r9")


def test_refund_replay_is_one_refund(member):
    services.purchase_record(user_id=member.pk, external_id="SO-1", amount=Decimal("100"))
    services.purchase_refund(external_id="SO-1", amount=Decimal("0.5"), idempotency_key="r1")
    services.purchase_refund(external_id="SO-1", amount=Decimal("0.5"), idempotency_key="r1")
    assert Purchase.objects.get().refunded_amount == Decimal("0.5")
    with pytest.raises(IdempotencyConflictError):
        services.purchase_refund(external_id="SO-1", amount=Decimal("2"), idempotency_key="r1")


def test_refund_of_unknown_purchase(db):
    with pytest.raises(exceptions.PurchaseNotFoundError):
        services.purchase_refund(external_id="nope", idempotency_key="r")


def test_csv_import_reports_accepted_duplicate_and_rejected_rows(member, tmp_path):
    csv_file = tmp_path / "purchases.csv"
    csv_file.write_text(
        "order_id,member_email,amount,purchased_at,sku,category\n"
        f"A-1,{member.email},88.80,2026-05-01T10:00:00+08:00,,books\n"
        f"A-2,{member.email.upper()},12,,SKU-9,\n"
        f"A-1,{member.email},88.80,2026-05-01T10:00:00+08:00,,books\n"
        f"A-3,nobody@example.com,10,,,\n"
        f"A-4,{member.email},ten,,,\n"
        f",{member.email},5,,,\n"
        f"A-5,{member.email},5,yesterday,,\n"
        f"A-1,{member.email},99,,,\n",
        encoding="utf-8",
    )
    out = StringIO()
    with (
        time_machine.travel(DAY0 + timedelta(days=1), tick=False),
        pytest.raises(CommandError, match=r"Accepted 2, duplicates 1, rejected 5\.") as rejected,
    ):
        call_command("points_import_purchases", str(csv_file), stdout=out)
    assert rejected.value.returncode == 1
    text = out.getvalue()
    assert "Accepted 2, duplicates 1, rejected 5." in text
    assert "rejected line 5 (A-3): The purchase is not valid: no member with the e-mail no***@example.com" in text
    assert "rejected line 6 (A-4): The purchase is not valid: amount is not a number" in text
    assert "rejected line 7 (no order id)" in text
    assert "rejected line 8 (A-5): The purchase is not valid: purchased_at is not an ISO date-time" in text
    assert "rejected line 9 (A-1): this order id was already imported with other data" in text
    assert sorted(Purchase.objects.values_list("external_id", flat=True)) == ["A-1", "A-2"]
    out2 = StringIO()
    with pytest.raises(CommandError, match="rejected 5"):
        call_command("points_import_purchases", str(csv_file), stdout=out2)
    assert "Accepted 0, duplicates 3, rejected 5." in out2.getvalue()
    assert services.points_verify().ok


def test_csv_import_refuses_a_file_without_the_columns(tmp_path, db):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("id,email\n1,a@b.c\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing columns: order_id, member_email, amount"):
        call_command("points_import_purchases", str(csv_file))
    with pytest.raises(CommandError, match="No such file"):
        call_command("points_import_purchases", str(tmp_path / "missing.csv"))


# --- Rounding: once, at the end (docs/decisions/0007) ---------------------------------------


@pytest.fixture
def double_points_week():
    """The demo's double-points campaign: ×2 on purchases, running on DAY0."""
    from points.models import Campaign

    return Campaign.objects.create(
        name="Double points week",
        starts_at=DAY0 - timedelta(days=1),
        ends_at=DAY0 + timedelta(days=6),
        multiplier=Decimal("2"),
        sources=["purchase"],
    )


def _as_tier(user, code: str) -> None:
    from points.models import Tier

    Account.objects.filter(user=user).update(tier=Tier.objects.get(code=code))


@pytest.mark.parametrize(
    ("tier", "amount", "expected"),
    [
        ("regular", "9.99", 19),  # 19.98; flooring ¥9.99 first gave 9 × 2 = 18
        ("diamond", "9.99", 29),  # 9.99 × 1.5 × 2 = 29.97; flooring first gave 27
        ("regular", "0.99", 1),  # a purchase under ¥1 earns at ×2; flooring first gave 0
        ("diamond", "0.50", 1),  # 0.5 × 1.5 × 2 = 1.5
        ("regular", "129.90", 259),
    ],
)
def test_purchase_points_are_computed_exactly_and_rounded_down_once(member, double_points_week, tier, amount, expected):
    _as_tier(member, tier)
    with time_machine.travel(DAY0, tick=False):
        result = services.purchase_record(user_id=member.pk, external_id="SO-R", amount=Decimal(amount))
    assert result.points == expected
    purchase = Purchase.objects.get(external_id="SO-R")
    assert purchase.points == expected
    assert purchase.base_points == int(Decimal(amount))  # before multipliers, rounded down once
    assert Entry.objects.get(idempotency_key="purchase:SO-R").pending_amount == expected
    assert services.points_verify().ok


def test_lines_under_one_yuan_count_together_before_the_single_rounding(member, double_points_week):
    lines = [services.PurchaseLine(amount=Decimal("0.50"), sku=f"SKU-{n}") for n in range(3)]
    with time_machine.travel(DAY0, tick=False):
        result = services.purchase_record(user_id=member.pk, external_id="SO-L", amount=Decimal("1.50"), lines=lines)
    assert result.points == 3  # 1.50 × 2; flooring the base first gave 1 × 2 = 2
    assert services.points_verify().ok


def test_a_purchase_worth_less_than_a_point_earns_nothing_and_writes_no_earn_entry(member):
    with time_machine.travel(DAY0, tick=False):
        result = services.purchase_record(user_id=member.pk, external_id="SO-S", amount=Decimal("0.99"))
    assert (result.points, result.bonus) == (0, 50)  # only the first-purchase bonus
    assert not Entry.objects.filter(idempotency_key="purchase:SO-S").exists()
    assert Purchase.objects.get(external_id="SO-S").earn_entry is None
    assert services.points_verify().ok


def test_a_refund_of_an_exactly_rounded_purchase_takes_back_in_proportion(member, double_points_week):
    with time_machine.travel(DAY0, tick=False):
        services.purchase_record(user_id=member.pk, external_id="SO-F", amount=Decimal("9.99"))
        services.purchase_refund(external_id="SO-F", amount=Decimal("5.00"), idempotency_key="r1")
    purchase = Purchase.objects.get(external_id="SO-F")
    assert (purchase.points, purchase.points_taken_back) == (19, 9)  # floor(19 × 5 / 9.99) = 9
    assert services.points_verify().ok
