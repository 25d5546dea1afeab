"""What the operators' dashboard shows (docs/decisions/0031).

Trends come from the precomputed daily rows (``DailyMetric``, ``analytics.PageDaily`` and
``ProductDaily``): one query per chart, whatever the period. The liability, its expiry forecast,
breakage, the low-stock and risk lists are live: single aggregate queries over the apps'
selectors. Every chart is a :class:`Chart` (labels, series), rendered by ``static/js/dashboard.js``
and exported as CSV by the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts import selectors as accounts_selectors
from catalog import selectors as catalog_selectors
from points import selectors as points_selectors
from pointsmall.analytics.models import PageDaily, ProductDaily
from pointsmall.dashboard.enums import DEFAULT_PERIOD, PERIODS, Metric
from pointsmall.dashboard.models import DailyMetric
from pointsmall.kernel import clock

# Velocity thresholds of the risk list (settings may override them).
FUNNEL_ROWS = 10

CHARTS = ("traffic", "activity", "points", "redemptions", "draws", "liability", "funnel")


def period_days(raw: object) -> int:
    """The period the operator asked for (``?days=``): 7, 30 or 90; anything else is 30."""
    try:
        days = int(str(raw))
    except (TypeError, ValueError):
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: list[int | float]
    stack: str = ""


@dataclass(frozen=True)
class Chart:
    """One chart: its x labels (a day, a month, a product) and one or more series of numbers."""

    key: str
    title: str
    kind: str  # line | bar | stacked | hbar
    axis: str  # the CSV's first column header
    labels: list[str]
    series: list[Series]
    note: str = ""
    keys: list[str] = field(default_factory=list)  # the CSV's first column (ISO dates, ids)

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind,
            "labels": self.labels,
            "series": [{"label": s.label, "values": s.values, "stack": s.stack} for s in self.series],
        }

    def rows(self) -> list[list[object]]:
        """The CSV: a header, then one row per label."""
        header: list[object] = [self.axis, *[s.label for s in self.series]]
        keys = self.keys or self.labels
        body: list[list[object]] = [[keys[i], *[s.values[i] for s in self.series]] for i in range(len(keys))]
        return [header, *body]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _day_label(day: date) -> str:
    return date_format(day, "m-d")


def _metrics(first: date, last: date, metrics: Sequence[str]) -> dict[tuple[str, date, str], int]:
    rows = DailyMetric.objects.filter(day__gte=first, day__lte=last, metric__in=metrics).values_list(
        "metric", "day", "dimension", "value"
    )
    return {(m, d, dim): v for m, d, dim, v in rows}


def _day_chart(key, title, days, figures, metrics, kind="bar") -> Chart:
    labels = dict(Metric.choices)
    return Chart(
        key=key,
        title=title,
        kind=kind,
        axis=_("Day"),
        labels=[_day_label(d) for d in days],
        keys=[d.isoformat() for d in days],
        series=[Series(m, str(labels[m]), [figures.get((m, d, ""), 0) for d in days]) for m in metrics],
    )


def traffic_chart(first: date, last: date) -> Chart:
    """Page views and unique visitors per day (the analytics roll-up). Visitors are summed over page
    types: a member who saw two kinds of page counts twice."""
    days = _days(first, last)
    rows: dict[date, dict[str, Any]] = {
        r["day"]: dict(r)
        for r in PageDaily.objects.filter(day__gte=first, day__lte=last)
        .values("day")
        .annotate(pv=Sum("views"), uv=Sum("visitors"))
        .order_by()
    }
    return Chart(
        key="traffic",
        title=_("Page views and visitors"),
        kind="line",
        axis=_("Day"),
        labels=[_day_label(d) for d in days],
        keys=[d.isoformat() for d in days],
        series=[
            Series("pv", _("Page views"), [rows.get(d, {}).get("pv") or 0 for d in days]),
            Series("uv", _("Visitors"), [rows.get(d, {}).get("uv") or 0 for d in days]),
        ],
        note=_("Visitors are counted once per kind of page and day."),
    )


def redemptions_chart(first: date, last: date) -> Chart:
    days = _days(first, last)
    figures = _metrics(first, last, [Metric.REDEMPTIONS])
    names = catalog_selectors.category_names()
    used = sorted({int(dim) for (_m, _d, dim) in figures if dim.isdigit()}, key=lambda pk: (names.get(pk, ""), pk))
    return Chart(
        key="redemptions",
        title=_("Redemptions by category"),
        kind="stacked",
        axis=_("Day"),
        labels=[_day_label(d) for d in days],
        keys=[d.isoformat() for d in days],
        series=[
            Series(
                f"c{pk}",
                names.get(pk, _("Category #%(id)s") % {"id": pk}),
                [figures.get((Metric.REDEMPTIONS, d, str(pk)), 0) for d in days],
                stack="redemptions",
            )
            for pk in used
        ],
    )


def liability_chart(today: date) -> Chart:
    forecast = points_selectors.expiry_forecast(today=today, months=12)
    return Chart(
        key="liability",
        title=_("Points expiring by month (next 12 months)"),
        kind="bar",
        axis=_("Month"),
        labels=[date_format(m, "Y-m") for m, _p in forecast],
        keys=[m.strftime("%Y-%m") for m, _p in forecast],
        series=[Series("expiring", _("Points expiring"), [p for _m, p in forecast])],
    )


@dataclass(frozen=True)
class FunnelRow:
    product_id: int
    name: str
    views: int
    starts: int
    redemptions: int

    @property
    def start_rate(self) -> float | None:
        return round(100 * self.starts / self.views, 1) if self.views else None

    @property
    def redeem_rate(self) -> float | None:
        return round(100 * self.redemptions / self.starts, 1) if self.starts else None

    @property
    def overall_rate(self) -> float | None:
        return round(100 * self.redemptions / self.views, 1) if self.views else None


def funnel_rows(first: date, last: date) -> list[FunnelRow]:
    """Every product with a view, a start or a redemption in the period: views → redemption starts
    (its confirmation page) → standing redemptions. Most redeemed first."""
    traffic: dict[int, dict[str, Any]] = {
        r["product_id"]: dict(r)
        for r in ProductDaily.objects.filter(day__gte=first, day__lte=last)
        .values("product_id")
        .annotate(views=Sum("views"), starts=Sum("redeem_starts"))
        .order_by()
    }
    redeemed: dict[int, int] = {}
    for dim, total in (
        DailyMetric.objects.filter(day__gte=first, day__lte=last, metric=Metric.PRODUCT_REDEMPTIONS)
        .values("dimension")
        .annotate(total=Sum("value"))
        .values_list("dimension", "total")
        .order_by()
    ):
        redeemed[int(dim)] = total
    ids = sorted(set(traffic) | set(redeemed))
    names = catalog_selectors.product_names(ids=ids)
    rows = [
        FunnelRow(
            product_id=pk,
            name=names.get(pk, f"#{pk}"),
            views=traffic.get(pk, {}).get("views") or 0,
            starts=traffic.get(pk, {}).get("starts") or 0,
            redemptions=redeemed.get(pk, 0),
        )
        for pk in ids
    ]
    return sorted(rows, key=lambda r: (-r.redemptions, -r.views, r.product_id))


def funnel_chart(rows: list[FunnelRow]) -> Chart:
    top = rows[:FUNNEL_ROWS]
    return Chart(
        key="funnel",
        title=_("Product funnel: views → redemption starts → redemptions"),
        kind="hbar",
        axis=_("Product"),
        labels=[r.name for r in top],
        series=[
            Series("views", _("Views"), [r.views for r in top]),
            Series("starts", _("Redemption starts"), [r.starts for r in top]),
            Series("redemptions", _("Redemptions"), [r.redemptions for r in top]),
        ],
    )


def funnel_csv_rows(rows: list[FunnelRow]) -> list[list[object]]:
    header: list[object] = [
        _("Product ID"),
        _("Product"),
        _("Views"),
        _("Redemption starts"),
        _("Redemptions"),
        _("Views → starts, %"),
        _("Starts → redemptions, %"),
        _("Views → redemptions, %"),
    ]
    body: list[list[object]] = [
        [
            r.product_id,
            r.name,
            r.views,
            r.starts,
            r.redemptions,
            "" if r.start_rate is None else r.start_rate,
            "" if r.redeem_rate is None else r.redeem_rate,
            "" if r.overall_rate is None else r.overall_rate,
        ]
        for r in rows
    ]
    return [header, *body]


def chart(key: str, *, days: int, today: date | None = None) -> Chart:
    """The chart ``key`` (one of ``CHARTS``) over the last ``days`` business days to ``today``."""
    today = today or clock.business_date()
    first = today - timedelta(days=days - 1)
    if key == "traffic":
        return traffic_chart(first, today)
    if key == "activity":
        metrics = [Metric.SIGNUPS, Metric.CHECKINS, Metric.ORDERS, Metric.ACTIVE]
        return _day_chart(
            "activity", _("Members' activity"), _days(first, today), _metrics(first, today, metrics), metrics
        )
    if key == "points":
        metrics = [Metric.ISSUED, Metric.SPENT, Metric.EXPIRED]
        figures = _metrics(first, today, metrics)
        return _day_chart(
            "points", _("Points issued, spent and expired"), _days(first, today), figures, metrics, "line"
        )
    if key == "redemptions":
        return redemptions_chart(first, today)
    if key == "draws":
        figures = _metrics(first, today, [Metric.DRAWS])
        return _day_chart("draws", _("Lottery draws"), _days(first, today), figures, [Metric.DRAWS])
    if key == "liability":
        return liability_chart(today)
    if key == "funnel":
        return funnel_chart(funnel_rows(first, today))
    raise KeyError(key)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: int | Decimal | str
    hint: str = ""


@dataclass(frozen=True)
class Breakage:
    """Expired ÷ issued, in percent (None when nothing was issued)."""

    period_issued: int
    period_expired: int
    lifetime_issued: int
    lifetime_expired: int

    @property
    def period_rate(self) -> float | None:
        return round(100 * self.period_expired / self.period_issued, 2) if self.period_issued else None

    @property
    def lifetime_rate(self) -> float | None:
        return round(100 * self.lifetime_expired / self.lifetime_issued, 2) if self.lifetime_issued else None


@dataclass(frozen=True)
class RiskRow:
    reason: str
    member: str
    user_id: int
    detail: str


@dataclass(frozen=True)
class Dashboard:
    days: int
    periods: tuple[int, ...]
    today: date
    kpis: list[Kpi]
    liability: points_selectors.Liability
    liability_yuan: Decimal
    point_value_yuan: Decimal
    breakage: Breakage
    charts: list[Chart]
    funnel_top: list[FunnelRow]
    funnel_bottom: list[FunnelRow]
    low_stock: list[catalog_selectors.LowStockRow]
    risks: list[RiskRow]
    rolled_up_at: object

    @property
    def point_value_text(self) -> str:
        """The point value without trailing zeros: 0.01, 0.005."""
        return format(self.point_value_yuan.normalize(), "f")

    def charts_json(self) -> dict:
        return {"charts": [c.as_json() for c in self.charts]}


def risk_rows(today: date) -> list[RiskRow]:
    """Held referrals and locked PINs (accounts), and members over the settings' thresholds:
    points earned today (``DASHBOARD_VELOCITY_POINTS``, ledger), orders placed today
    (``DASHBOARD_VELOCITY_ORDERS``) and cancelled or rejected orders in 30 days
    (``DASHBOARD_REFUNDS_AT_LEAST``, catalog)."""
    reasons = {
        "referral_held": _("Referral held for review"),
        "pin_locked": _("Payment PIN locked"),
        "fast_earner": _("Unusual points earned today"),
        "fast_redeemer": _("Unusual number of orders today"),
        "refunds": _("Many cancelled or rejected orders (30 days)"),
    }
    points_over = settings.DASHBOARD_VELOCITY_POINTS
    orders_over = settings.DASHBOARD_VELOCITY_ORDERS
    refunds = settings.DASHBOARD_REFUNDS_AT_LEAST
    rows: list[tuple[str, int, str]] = []
    for m in accounts_selectors.risk_members():
        rows.append((m.reason, m.user_id, m.detail if m.reason == "referral_held" else ""))
    for e in points_selectors.fast_earners(day=today, points_over=points_over):
        rows.append(
            (
                "fast_earner",
                e.user_id,
                _("%(points)s points in %(entries)s entries") % {"points": e.points, "entries": e.entries},
            )
        )
    for r in catalog_selectors.fast_redeemers(day=today, orders_over=orders_over):
        rows.append(("fast_redeemer", r.user_id, _("%(orders)s orders") % {"orders": r.orders}))
    for r in catalog_selectors.frequent_refunders(since=today - timedelta(days=29), undone_at_least=refunds):
        rows.append(("refunds", r.user_id, _("%(orders)s orders") % {"orders": r.orders}))
    emails = accounts_selectors.member_emails(ids={user for _r, user, _d in rows})
    return [
        RiskRow(reason=str(reasons[reason]), member=emails.get(user, f"#{user}"), user_id=user, detail=detail)
        for reason, user, detail in rows
    ]


def dashboard(*, days: int, today: date | None = None) -> Dashboard:
    """Everything on the dashboard page for the last ``days`` business days (about 15 queries)."""
    today = today or clock.business_date()
    first = today - timedelta(days=days - 1)
    figures = _metrics(
        today, today, [m for m in Metric.values if m not in (Metric.REDEMPTIONS, Metric.PRODUCT_REDEMPTIONS)]
    )
    traffic_today = PageDaily.objects.filter(day=today).aggregate(pv=Sum("views"), uv=Sum("visitors"))
    redeemed_today = (
        DailyMetric.objects.filter(day=today, metric=Metric.REDEMPTIONS).aggregate(n=Sum("value"))["n"] or 0
    )
    labels = dict(Metric.choices)

    def kpi(metric: str) -> Kpi:
        return Kpi(metric, str(labels[metric]), figures.get((metric, today, ""), 0))

    kpis = [
        Kpi("pv", _("Page views"), traffic_today["pv"] or 0),
        Kpi("uv", _("Visitors"), traffic_today["uv"] or 0),
        kpi(Metric.SIGNUPS),
        kpi(Metric.CHECKINS),
        kpi(Metric.ORDERS),
        Kpi("redemptions", pgettext("dashboard", "Redemptions"), redeemed_today),
        kpi(Metric.ACTIVE),
        kpi(Metric.ISSUED),
        kpi(Metric.SPENT),
        kpi(Metric.EXPIRED),
        kpi(Metric.DRAWS),
    ]
    liability = points_selectors.points_liability()
    value = points_selectors.point_value_yuan()
    period = (
        DailyMetric.objects.filter(
            day__gte=first, day__lte=today, metric__in=[Metric.ISSUED, Metric.EXPIRED], dimension=""
        )
        .values_list("metric")
        .annotate(total=Sum("value"))
        .order_by()
    )
    period_totals = dict(period)
    breakage = Breakage(
        period_issued=period_totals.get(Metric.ISSUED, 0),
        period_expired=period_totals.get(Metric.EXPIRED, 0),
        lifetime_issued=liability.lifetime_issued,
        lifetime_expired=liability.lifetime_expired,
    )
    funnel = funnel_rows(first, today)
    viewed = [r for r in funnel if r.views]
    bottom = sorted(viewed, key=lambda r: (r.overall_rate or 0, -r.views, r.product_id))[:FUNNEL_ROWS]
    charts = [
        traffic_chart(first, today),
        chart("activity", days=days, today=today),
        chart("points", days=days, today=today),
        redemptions_chart(first, today),
        chart("draws", days=days, today=today),
        liability_chart(today),
        funnel_chart(funnel),
    ]
    last_run = DailyMetric.objects.order_by("-rolled_up_at").values_list("rolled_up_at", flat=True).first()
    return Dashboard(
        days=days,
        periods=PERIODS,
        today=today,
        kpis=kpis,
        liability=liability,
        liability_yuan=((liability.available + liability.pending) * value).quantize(Decimal("0.01")),
        point_value_yuan=value,
        breakage=breakage,
        charts=charts,
        funnel_top=funnel[:FUNNEL_ROWS],
        funnel_bottom=bottom,
        low_stock=catalog_selectors.low_stock(),
        risks=risk_rows(today),
        rolled_up_at=last_run,
    )
