"""The operator's report of a campaign: exact figures, a sane χ² p-value, CSV exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from lottery.models import Draw
from lottery.selectors import reports
from tests.catalog.factories import make_product
from tests.factories import MemberFactory, StaffFactory
from tests.lottery.lottery_admin_helpers import published

pytestmark = pytest.mark.django_db


def _draw(campaign, member, picked, *, prize="same", pity=False, free=False, cost=50, outcome=None):
    n = Draw.objects.count()
    won = picked if prize == "same" else prize
    if outcome is None:
        outcome = "won" if won is not None and won.kind != "none" else "no_prize"
    return Draw.objects.create(
        campaign=campaign,
        member=member,
        idempotency_key=f"k{n}",
        client_seed=f"c{n}",
        nonce=n + 1,
        number=n,
        pity=pity,
        free=free,
        cost_points=0 if free else cost,
        picked=picked,
        prize=won if won is not None and won.kind != "none" else None,
        outcome=outcome,
    )


@pytest.fixture
def small(db):
    """8 draws by 3 members: 2 free; one 500-points win, two 50-points wins (one by pity), one
    item won, one item picked but gone (fell through to nothing), three no prize."""
    campaign = published(product=make_product())
    big, small_points, item, nothing = campaign.prizes.order_by("position")
    ann, ben, cat = MemberFactory(), MemberFactory(), MemberFactory()
    _draw(campaign, ann, big)
    _draw(campaign, ann, small_points)
    _draw(campaign, ann, nothing, free=True)
    _draw(campaign, ben, nothing)
    _draw(campaign, ben, item)
    _draw(campaign, ben, item, prize=None, outcome="fell_through")
    _draw(campaign, cat, nothing, free=True)
    _draw(campaign, cat, nothing, prize=small_points, pity=True)
    return campaign


def test_the_report_counts_draws_drawers_points_and_prizes_exactly(small):
    report = reports.campaign_report(campaign_id=small.pk)

    assert (report.draws, report.drawers, report.paid_draws, report.free_draws) == (8, 3, 6, 2)
    assert (report.pity_draws, report.fell_through) == (1, 1)
    assert report.points_collected == 300
    assert report.points_paid == 500 + 2 * 50
    # Points prizes at the policy's 0.01 yuan a point: 500 × 0.01 + 2 × 50 × 0.01 = 6.00, the ticket 45.00.
    assert report.prize_cost == Decimal("51.00")
    rows = [(p.name, p.awarded, p.picked, p.quantity, p.remaining, p.configured_rate, p.realised_rate, p.cost)
            for p in report.prizes]  # fmt: skip
    assert rows == [
        ("500 points", 1, 1, 20, 20, Decimal("1.00"), Decimal("14.29"), Decimal("5.00")),
        ("50 points", 2, 1, 1000, 1000, Decimal("15.00"), Decimal("14.29"), Decimal("1.00")),
        ("Cinema ticket", 1, 2, 5, 5, Decimal("2.50"), Decimal("28.57"), Decimal("45.00")),
        ("Thanks for playing", 0, 3, None, None, Decimal("81.50"), Decimal("42.86"), Decimal("0.00")),
    ]


def test_a_campaign_without_draws_has_no_rates_and_no_p_value(db):
    campaign = published(product=make_product())

    report = reports.campaign_report(campaign_id=campaign.pk)

    assert (report.draws, report.drawers, report.points_collected, report.chi_square_p) == (0, 0, 0, None)
    assert [p.realised_rate for p in report.prizes] == [None, None, None, None]


def test_the_p_value_is_high_when_the_picks_follow_the_odds_and_tiny_when_they_do_not(db):
    campaign = published(product=make_product())
    big, small_points, item, nothing = campaign.prizes.order_by("position")
    member = MemberFactory()
    # 400 draws exactly at the odds: 4 / 60 / 10 / 326.
    for prize, count in ((big, 4), (small_points, 60), (item, 10), (nothing, 326)):
        for _ in range(count):
            _draw(campaign, member, prize, prize=None, outcome="no_prize")
    assert reports.campaign_report(campaign_id=campaign.pk).chi_square_p == pytest.approx(1.0)
    # 100 more draws that all picked the 1% prize.
    for _ in range(100):
        _draw(campaign, member, big, prize=None, outcome="no_prize")
    assert reports.campaign_report(campaign_id=campaign.pk).chi_square_p < 1e-9


def test_pity_draws_are_left_out_of_the_odds_test(db):
    campaign = published(product=make_product())
    big = campaign.prizes.order_by("position").first()
    member = MemberFactory()
    for _ in range(50):
        _draw(campaign, member, big, pity=True)

    report = reports.campaign_report(campaign_id=campaign.pk)

    assert report.chi_square_p is None
    assert report.prizes[0].awarded == 50
    assert report.prizes[0].picked == 0


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(body)))


def test_the_draws_csv_has_one_row_per_draw(client, small):
    client.force_login(StaffFactory())

    rows = _csv(client.get(reverse("admin:lottery_lotterycampaign_draws_csv", args=[small.pk])))

    assert rows[0] == list(reports.DRAW_COLUMNS)
    assert len(rows) == 9
    first = Draw.objects.order_by("pk").first()
    assert rows[1][0] == str(first.pk)
    assert rows[1][2:] == [str(first.member_id), "c0", "1", "0", "0", "0", "50", "500 points", "500 points", "won", ""]
    assert [r[11] for r in rows[1:]] == ["won", "won", "no_prize", "no_prize", "won", "fell_through", "no_prize", "won"]


def test_the_report_csv_has_the_figures_and_a_row_per_prize(client, small):
    client.force_login(StaffFactory())

    rows = _csv(client.get(reverse("admin:lottery_lotterycampaign_report_csv", args=[small.pk])))

    figures = {r[0]: r[1] for r in rows[1:11]}
    assert figures["draws"] == "8"
    assert figures["distinct drawers"] == "3"
    assert figures["points collected"] == "300"
    assert figures["cost of prizes, yuan"] == "51.00"
    prize_rows = rows[rows.index([]) + 2 :]
    assert [r[0] for r in prize_rows] == ["500 points", "50 points", "Cinema ticket", "Thanks for playing"]
    assert prize_rows[2][4:6] == ["2", "1"]


@pytest.mark.parametrize("name", ["=HYPERLINK(1)", " =HYPERLINK(1)", "\n=HYPERLINK(1)"])
def test_a_prize_name_starting_with_a_formula_sign_is_quoted(client, small, name):
    # The shared guard (pointsmall.kernel.csv): also after leading spaces and line breaks.
    small.prizes.filter(position=1).update(name_en=name)
    client.force_login(StaffFactory())

    rows = _csv(client.get(reverse("admin:lottery_lotterycampaign_draws_csv", args=[small.pk])))

    assert rows[1][9] == "'" + name


def test_the_report_page_shows_the_figures(client, small):
    client.force_login(StaffFactory())

    page = client.get(reverse("admin:lottery_lotterycampaign_report", args=[small.pk])).content.decode()

    assert "lottery-report-totals" in page
    assert "28.57%" in page


def test_staff_without_view_permission_get_no_report(client, small):
    client.force_login(MemberFactory(is_staff=True))

    for name in ("report", "report_csv", "draws_csv"):
        assert client.get(reverse(f"admin:lottery_lotterycampaign_{name}", args=[small.pk])).status_code == 403
