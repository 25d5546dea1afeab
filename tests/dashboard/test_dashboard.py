"""The operators' dashboard (docs/decisions/0031): the roll-up's figures equal the ledger, the
orders, the check-ins and the draws of a small seeded mall; the live liability, forecast and
breakage equal the lots seeded; the CSV exports and who may see them; the point value's move."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from accounts import services as accounts_services
from catalog import services as catalog_services
from catalog.enums import OrderStatus, ProductKind
from catalog.models import Category, Order, Product
from lottery.models import Draw, PrizeKind
from points import selectors as points_selectors
from points import services as points_services
from points.models import Lot, PointValuePolicy
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.dashboard import selectors
from pointsmall.dashboard.enums import Metric
from pointsmall.dashboard.models import DailyMetric
from pointsmall.dashboard.services import dashboard_rollup
from pointsmall.kernel.csv import csv_cell
from tasks import services as tasks_services
from tasks.models.checkin import Checkin
from tests.factories import MemberFactory, StaffFactory
from tests.lottery.core_helpers import draw, make_campaign

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
D1, D2, D3 = date(2026, 5, 10), date(2026, 5, 11), date(2026, 5, 12)  # D3 is "today"
T0 = datetime(2026, 5, 12, 12, 0, tzinfo=SHANGHAI)
PIN = "258014"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def figure(day: date, metric: str, dimension: str = "") -> int:
    row = DailyMetric.objects.filter(day=day, metric=metric, dimension=dimension).first()
    return row.value if row else 0


@pytest.fixture
def mall():
    """Three members joining on three days, earns, an expiry, orders in two categories (one
    cancelled), check-ins and lottery draws, each at a known business time."""
    seeded: dict = {}
    with time_machine.travel(at(D1, 23, 30), tick=False):  # 15:30 UTC: still D1 in Shanghai
        a = MemberFactory()
        points_services.points_earn(user_id=a.pk, amount=1000, idempotency_key="t:a:1")
    with time_machine.travel(at(D2, 0, 30), tick=False):  # 16:30 UTC on D1: D2 in Shanghai
        b = MemberFactory()
        points_services.points_earn(user_id=b.pk, amount=300, idempotency_key="t:b:1", expires_at=at(D2, 8, 0))
        points_services.points_earn(
            user_id=b.pk, amount=700, idempotency_key="t:b:2", expires_at=at(D3 + timedelta(days=40), 12)
        )
    with time_machine.travel(at(D2, 9, 0), tick=False):
        points_services.points_expire(as_of=at(D2, 9, 0))
        tasks_services.checkin_record(user_id=a.pk)
    with time_machine.travel(at(D3, 9, 0), tick=False):
        c = MemberFactory()
        points_services.points_earn(user_id=c.pk, amount=2000, idempotency_key="t:c:1")
        tasks_services.checkin_record(user_id=b.pk)
        tasks_services.checkin_record(user_id=a.pk)
    gifts = Category.objects.create(name_zh="礼品", name_en="Gifts", slug="gifts")
    food = Category.objects.create(name_zh="食品", name_en="Food", slug="food")
    cup = Product.objects.create(
        name_zh="杯子",
        name_en="Cup",
        category=gifts,
        kind=ProductKind.PHYSICAL,
        points_price=100,
        stock=20,
        per_order_limit=5,
        low_stock_threshold=3,
    )
    tea = Product.objects.create(
        name_zh="茶叶",
        name_en="Tea",
        category=food,
        kind=ProductKind.PHYSICAL,
        points_price=200,
        stock=2,
        per_order_limit=5,
        low_stock_threshold=5,
    )
    addresses = {}
    for user in (a, b, c):
        accounts_services.pin_set(user_id=user.pk, pin=PIN)
        addresses[user.pk] = accounts_services.address_create(
            user_id=user.pk,
            recipient="王小明",
            phone="13800138000",
            province="上海市",
            city="上海市",
            district="浦东新区",
            detail="世纪大道 100 号",
            postal_code="200120",
        ).id
    orders = []
    for when, user, product, key in [
        (at(D2, 10), a, cup, "o1"),
        (at(D2, 11), b, tea, "o2"),
        (at(D3, 10), c, cup, "o3"),
        (at(D3, 10, 30), c, tea, "o4"),
        (at(D3, 11), a, cup, "o5"),
    ]:
        with time_machine.travel(when, tick=False):
            orders.append(
                catalog_services.order_redeem(
                    user_id=user.pk,
                    product_id=product.pk,
                    quantity=1,
                    idempotency_key=key,
                    pin=PIN,
                    address_id=addresses[user.pk],
                )
            )
    # One of today's orders is cancelled: an order, not a standing redemption.
    Order.objects.filter(idempotency_key="o5").update(status=OrderStatus.CANCELLED)
    campaign = make_campaign(now=T0)
    with time_machine.travel(at(D3, 11, 30), tick=False):
        draw(c, campaign, now=at(D3, 11, 30))
        draw(c, campaign, now=at(D3, 11, 31))
    PageDaily.objects.create(day=D3, page_type="home", views=40, visitors=10)
    PageDaily.objects.create(day=D3, page_type="product", views=25, visitors=8)
    ProductDaily.objects.create(day=D3, product=cup, views=20, visitors=6, redeem_starts=4)
    seeded.update(a=a, b=b, c=c, cup=cup, tea=tea, gifts=gifts, food=food, campaign=campaign)
    return seeded


def _checkin_points(day: date) -> int:
    return sum(c.points + c.bonus_points for c in Checkin.objects.filter(day=day))


def _order_points(day: date) -> int:
    return sum(o.points_total for o in Order.objects.all() if o.created_at.astimezone(SHANGHAI).date() == day)


def _draw_figures() -> tuple[int, int]:
    """(points paid for today's draws, points won by them): read from the draw rows."""
    draws = list(Draw.objects.select_related("prize"))
    cost = sum(d.cost_points for d in draws)
    won = sum(d.prize.points or 0 for d in draws if d.prize is not None and d.prize.kind == PrizeKind.POINTS)
    return cost, won


def test_the_rollup_equals_the_ledger_orders_checkins_and_draws(mall):
    with time_machine.travel(T0, tick=False):
        dashboard_rollup(days=3)
    gifts, food = str(mall["gifts"].pk), str(mall["food"].pk)
    cost, won = _draw_figures()
    assert [figure(d, Metric.SIGNUPS) for d in (D1, D2, D3)] == [1, 1, 1]
    assert [figure(d, Metric.CHECKINS) for d in (D1, D2, D3)] == [0, 1, 2]
    assert [figure(d, Metric.ORDERS) for d in (D1, D2, D3)] == [0, 2, 3]
    assert figure(D2, Metric.REDEMPTIONS, gifts) == 1
    assert figure(D2, Metric.REDEMPTIONS, food) == 1
    assert figure(D3, Metric.REDEMPTIONS, gifts) == 1  # o5 was cancelled
    assert figure(D3, Metric.REDEMPTIONS, food) == 1
    assert figure(D3, Metric.PRODUCT_REDEMPTIONS, str(mall["cup"].pk)) == 1
    assert figure(D3, Metric.DRAWS) == 2
    assert figure(D1, Metric.ISSUED) == 1000
    assert figure(D2, Metric.ISSUED) == 300 + 700 + _checkin_points(D2)
    assert figure(D3, Metric.ISSUED) == 2000 + _checkin_points(D3) + won
    assert figure(D2, Metric.EXPIRED) == 300
    # Tier prices may take a little off the list price: each order's own total is what it spent.
    assert figure(D2, Metric.SPENT) == _order_points(D2)
    assert figure(D3, Metric.SPENT) == _order_points(D3) + cost  # the cancelled order's spend stays a spend
    # Active: a (earn) on D1; a, b on D2 (earns, check-in, orders); a, b, c on D3.
    assert [figure(d, Metric.ACTIVE) for d in (D1, D2, D3)] == [1, 2, 3]


def test_the_rollup_twice_writes_the_same_rows(mall):
    def rows():
        return list(
            DailyMetric.objects.values_list("day", "metric", "dimension", "value").order_by(
                "day", "metric", "dimension"
            )
        )

    with time_machine.travel(T0, tick=False):
        dashboard_rollup(days=5)
        first = rows()
        dashboard_rollup(days=5)
        call_command("dashboard_rollup", "--days", "5", stdout=io.StringIO())
    assert rows() == first
    assert first


def test_a_bad_day_count_is_refused_and_writes_nothing(mall):
    from django.core.management.base import CommandError

    with pytest.raises(ValueError):
        dashboard_rollup(days=0)
    with pytest.raises(CommandError):
        call_command("dashboard_rollup", "--days", "0", stdout=io.StringIO())
    assert not DailyMetric.objects.exists()


def test_liability_forecast_and_breakage_equal_the_lots_seeded(mall):
    with time_machine.travel(T0, tick=False):
        dashboard_rollup(days=3)
        board = selectors.dashboard(days=7)
    cost, won = _draw_figures()
    checkins = _checkin_points(D2) + _checkin_points(D3)
    issued = 1000 + 1000 + 2000 + checkins + won
    spent = _order_points(D2) + _order_points(D3) + cost
    assert board.liability.available + board.liability.pending == issued - spent - 300
    assert board.liability_yuan == (Decimal(issued - spent - 300) * Decimal("0.01")).quantize(Decimal("0.01"))
    assert board.breakage.period_issued == issued
    assert board.breakage.period_expired == 300
    assert board.breakage.period_rate == round(100 * 300 / issued, 2)
    # b's 700 points expire 40 days after D3 (June); everything else under the default 12 months.
    forecast = dict(points_selectors.expiry_forecast(today=D3))
    june = sum(
        lot.remaining for lot in mall["b"].points_account.lots.all() if lot.expires_at and lot.expires_at.month == 6
    )
    assert forecast[date(2026, 6, 1)] == june
    horizon = at(date(2027, 5, 1), 0)  # the 12 months shown: May 2026 to April 2027
    lots = Lot.objects.filter(remaining__gt=0)
    assert sum(forecast.values()) == sum(lot.remaining for lot in lots if lot.expires_at and lot.expires_at < horizon)
    assert sum(lot.remaining for lot in lots) == board.liability.available + board.liability.pending
    assert len(forecast) == 12 and min(forecast) == date(2026, 5, 1)


def test_the_point_value_is_the_ledgers_and_the_liability_follows_it(mall):
    PointValuePolicy.objects.update_or_create(pk=1, defaults={"yuan_per_point": Decimal("0.05")})
    assert points_selectors.point_value_yuan() == Decimal("0.05")
    with time_machine.travel(T0, tick=False):
        board = selectors.dashboard(days=7)
    owed = board.liability.available + board.liability.pending
    assert board.liability_yuan == (owed * Decimal("0.05")).quantize(Decimal("0.01"))


def test_low_stock_and_funnel(mall):
    with time_machine.travel(T0, tick=False):
        dashboard_rollup(days=3)
        board = selectors.dashboard(days=7)
    assert [(r.name, r.stock, r.threshold) for r in board.low_stock] == [("Tea", 0, 5)]
    cup = next(r for r in board.funnel_top if r.product_id == mall["cup"].pk)
    assert (cup.views, cup.starts, cup.redemptions) == (20, 4, 2)
    assert (cup.start_rate, cup.redeem_rate, cup.overall_rate) == (20.0, 50.0, 10.0)
    kpis = {k.key: k.value for k in board.kpis}
    assert kpis["pv"] == 65 and kpis["uv"] == 18 and kpis["orders"] == 3 and kpis["redemptions"] == 2


def test_velocity_and_held_referrals_make_the_risk_list(mall, settings):
    settings.DASHBOARD_VELOCITY_POINTS = 1500
    settings.DASHBOARD_VELOCITY_ORDERS = 1
    with time_machine.travel(T0, tick=False):
        rows = selectors.risk_rows(D3)
    reasons = {(r.user_id, r.reason) for r in rows}
    assert (mall["c"].pk, "Unusual points earned today") in reasons  # 2000 > 1500
    assert (mall["c"].pk, "Unusual number of orders today") in reasons  # 2 orders > 1
    assert all(r.user_id != mall["b"].pk for r in rows)


# --- The page and its exports ------------------------------------------------------------------


@pytest.fixture
def operator_client(client, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    return client


def _staff_without_permission(client, settings, *, with_permission: bool = False):
    settings.ADMIN_REQUIRE_MFA = False
    staff = MemberFactory(is_staff=True)
    if with_permission:
        staff.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(staff)
    return client


def test_the_admin_index_shows_the_dashboard_to_an_operator(mall, operator_client):
    with time_machine.travel(T0, tick=False):
        dashboard_rollup(days=3)
        response = operator_client.get("/admin/?days=7")
    assert response.status_code == 200
    html = response.content.decode()
    for key in selectors.CHARTS:
        assert f'data-chart="{key}"' in html
        assert f"/admin/dashboard/{key}.csv?days=7" in html
    assert 'id="dashboard-data" type="application/json"' in html
    assert "chartjs-4.6.1/chart.umd.min.js" in html
    assert "<script>" not in html  # no inline script: the CSP would block it


@pytest.mark.parametrize("days", ["abc", "0", "-7", "365", "", "7.5"])
def test_a_bad_period_falls_back_to_thirty_days(operator_client, days):
    response = operator_client.get("/admin/", {"days": days})
    assert response.status_code == 200
    assert 'aria-current="true">30' in response.content.decode().replace("\n", "")
    assert operator_client.get("/admin/dashboard/activity.csv", {"days": days}).status_code == 200


def test_staff_without_the_permission_get_the_plain_index_and_no_csv(client, settings):
    _staff_without_permission(client, settings)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "dashboard-data" not in response.content.decode()
    assert client.get("/admin/dashboard/activity.csv").status_code == 403


def test_staff_with_the_permission_see_it(client, settings):
    _staff_without_permission(client, settings, with_permission=True)
    assert "dashboard-data" in client.get("/admin/").content.decode()
    assert client.get("/admin/dashboard/points.csv").status_code == 200


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get("/admin/dashboard/activity.csv")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_unknown_chart_is_not_found(operator_client):
    assert operator_client.get("/admin/dashboard/secrets.csv").status_code == 404


def test_the_csv_export_holds_the_charts_numbers(mall, operator_client):
    with time_machine.travel(T0, tick=False):
        dashboard_rollup(days=3)
        response = operator_client.get("/admin/dashboard/activity.csv?days=7", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dashboard-activity-7d-2026-05-12.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][1:] == ["Sign-ups", "Check-ins", "Orders", "Active members"]
    by_day = {r[0]: r[1:] for r in rows[1:]}
    assert len(by_day) == 7
    assert by_day["2026-05-11"] == ["1", "1", "2", "2"]
    assert by_day["2026-05-12"] == ["1", "2", "3", "3"]


def test_csv_cells_cannot_become_formulas(mall, operator_client):
    Product.objects.filter(pk=mall["cup"].pk).update(name_zh="=HYPERLINK(1)", name_en="=HYPERLINK(1)")
    assert [csv_cell(v) for v in ["=1+1", "+1", "-1", "@x", "ok", 5]] == ["'=1+1", "'+1", "'-1", "'@x", "ok", 5]
    with time_machine.travel(T0, tick=False):
        dashboard_rollup(days=3)
        text = operator_client.get("/admin/dashboard/funnel.csv?days=7").content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    assert ",=HYPERLINK" not in text


def test_the_rollup_job_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dashboard-rollup"]
    assert entry["task"] == "dashboard.rollup"


def test_times_are_business_days():
    assert at(D1, 23, 30).astimezone(UTC).date() == D1
    assert at(D2, 0, 30).astimezone(UTC).date() == D1  # D2 in Shanghai, D1 in UTC


def test_the_rollup_job_runs_the_service(mall):
    from pointsmall.dashboard import jobs

    with time_machine.travel(T0, tick=False):
        written = jobs.rollup.apply(kwargs={"days": 3}).get()
    assert written == DailyMetric.objects.count() > 0
    assert figure(D3, Metric.ORDERS) == 3


def test_operators_see_the_dashboard_and_edit_the_point_value(client, settings):
    from django.contrib.auth.models import Group

    settings.ADMIN_REQUIRE_MFA = False
    staff = MemberFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="Operators"))
    client.force_login(staff)
    assert "dashboard-data" in client.get("/admin/").content.decode()
    response = client.post(reverse("admin:points_pointvaluepolicy_change", args=[1]), {"yuan_per_point": "0"})
    assert response.status_code == 200  # refused: the form again, with its error
    assert points_selectors.point_value_yuan() == Decimal("0.01")
    response = client.post(reverse("admin:points_pointvaluepolicy_change", args=[1]), {"yuan_per_point": "0.02"})
    assert response.status_code == 302
    assert points_selectors.point_value_yuan() == Decimal("0.02")
