"""Operations benchmark (issue #12): notifications, traffic analytics and the operators' dashboard.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python -m bench.operations [--quick]

It TRUNCATES the user, ledger, tasks, notification, traffic and dashboard tables and seeds the
demo (``seed_demo``) plus bench members, so it refuses any database that is not Postgres named
``pm_bench*``. Its Redis counters use their own prefix and a day far in the past, deleted at
the end. It prints figures as it goes and rewrites the ``## Notifications, traffic and
dashboard`` section of docs/benchmarks.md. It never fails on a timing; it exits non-zero only
when a correctness check fails (a second fan-out or send writes or sends nothing, two roll-ups
give the same numbers, every page answers 200).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from bench import common
from bench.common import percentile, progress, timed
from bench.engagement import make_members, queries_of
from bench.engagement import truncate as truncate_engagement

HEADING = "Notifications, traffic and dashboard"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
# Live traffic of the benchmark lands on this day, never on a real one.
BENCH_DAY = date(2000, 1, 1)
DASHBOARD_TARGET_SECONDS = 1.0
DASHBOARD_PERIODS = (7, 30, 90)


# --- Data -------------------------------------------------------------------------------


def truncate() -> None:
    """Empty what ``bench.engagement`` empties plus notifications, traffic and dashboard figures."""
    from django.db import connection

    from accounts.models import Delivery, Notification, NotificationPreference
    from pointsmall.analytics.models import PageDaily, ProductDaily, RawTiming, RawVisit
    from pointsmall.dashboard.models import DailyMetric

    truncate_engagement()
    models = [Delivery, Notification, NotificationPreference, PageDaily, ProductDaily, RawVisit, RawTiming, DailyMetric]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)} RESTART IDENTITY CASCADE")


def seed_demo() -> None:
    """The demo mall (admin, four members with histories, catalogue, orders, 90 days of traffic)."""
    from pointsmall.seeding import seed_demo as seed

    seed(io.StringIO())


def quiet_celery() -> None:
    """Send the after-commit Celery nudges to an in-memory broker nobody reads: the deliveries
    stay pending for the sending benchmark, and Redis gets no task messages."""
    from pointsmall.celery import app

    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"


def verified_email(user_ids: list[int]) -> None:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    emails = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "email"))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user_id=pk, email=emails[pk], verified=True, primary=True) for pk in user_ids], batch_size=2000
    )


# --- 1. notification_send ----------------------------------------------------------------


@dataclass
class SendCase:
    label: str
    queries: int
    per_second: float
    deliveries: float


def bench_send(calls: int) -> list[SendCase]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.enums import NotificationKind
    from accounts.models import Delivery
    from accounts.services import notification_preferences_set, notification_send

    inbox_only, everywhere = make_members(2, prefix="send")
    verified_email([everywhere])
    get_user_model().objects.filter(pk=everywhere).update(phone="13800138000", phone_verified_at=timezone.now())
    kind = NotificationKind.ANNOUNCEMENT  # inbox only by default
    notification_preferences_set(user_id=everywhere, choices={kind: {"email": True, "sms": True}})
    cases = []
    for label, user_id in (("inbox only", inbox_only), ("inbox + e-mail + SMS", everywhere)):

        def send(n: int, user_id: int = user_id) -> int:
            return notification_send(
                user_id=user_id, kind=kind, title="Bench", body="A message", link="/points/", dedupe_key=f"bench-{n}"
            )

        queries, _ = queries_of(lambda send=send: send(0))
        with timed() as elapsed:
            for n in range(1, calls + 1):
                send(n)
        # The measured call plus the timed ones.
        deliveries = Delivery.objects.filter(notification__user_id=user_id).count() / (calls + 1)
        cases.append(SendCase(label, queries, calls / elapsed[0], deliveries))
        progress(f"notification_send {label}: {queries} statements, {calls / elapsed[0]:,.0f} calls/s")
    return cases


# --- 2. Fan-out --------------------------------------------------------------------------


@dataclass
class Fanout:
    members: int
    email_members: int
    seconds: float
    rows: int
    deliveries: int
    again_seconds: float
    again_rows: int
    again_deliveries: int

    @property
    def ok(self) -> bool:
        return self.rows == self.members and self.deliveries == self.email_members and self.again_rows == 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def bench_fanout(members: int, email_share: int = 4) -> Fanout:
    from accounts.enums import NotificationKind
    from accounts.models import Delivery, Notification, NotificationPreference
    from accounts.services import notifications_send_bulk

    user_ids = make_members(members, prefix="fan")
    wanting = user_ids[::email_share]
    verified_email(wanting)
    kind = NotificationKind.ANNOUNCEMENT
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user_id=pk, kind=kind, channel="email", enabled=True) for pk in wanting],
        batch_size=2000,
    )
    progress(f"fan-out: {members:,} members, {len(wanting):,} of them want e-mail")

    def fan_out() -> int:
        return notifications_send_bulk(
            user_ids=user_ids, kind=kind, dedupe_key="bench-fanout", title="Spring sale", body="Double points."
        )

    def deliveries() -> int:
        return Delivery.objects.filter(notification__dedupe_key="bench-fanout").count()

    with timed() as first:
        created = fan_out()
    rows, sent = Notification.objects.filter(dedupe_key="bench-fanout").count(), deliveries()
    with timed() as second:
        again = fan_out()
    result = Fanout(members, len(wanting), first[0], rows, sent, second[0], again, deliveries() - sent)
    progress(
        f"fan-out: {first[0]:.2f} s ({created:,} new, {result.rows_per_second:,.0f} rows/s, {sent:,} deliveries); "
        f"again {second[0]:.2f} s, {again} new"
    )
    return result


# --- 3. Sending deliveries ---------------------------------------------------------------


@dataclass
class Sending:
    due: dict[str, int]
    seconds: float
    report: dict[str, int]
    emails: int
    texts: int
    again: dict[str, int]
    # Delivery rows marked sent, by channel, and rows still pending or sending afterwards.
    sent_by_channel: dict[str, int]
    left: int

    @property
    def sent(self) -> int:
        return self.report.get("sent", 0)

    @property
    def ok(self) -> bool:
        return (
            self.emails == self.sent_by_channel.get("email", 0)
            and self.texts == self.sent_by_channel.get("sms", 0)
            and self.sent == sum(self.sent_by_channel.values())
            and self.left == 0
            and not self.again.get("sent")
        )


def bench_sending() -> Sending:
    from django.conf import settings
    from django.core import mail
    from django.db.models import Count

    from accounts import sms
    from accounts.models import Delivery
    from accounts.services.delivery import deliveries_send_due

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    mail.outbox = []
    sms.outbox.clear()
    due = dict(
        Delivery.objects.filter(status="pending").values("channel").annotate(n=Count("pk")).values_list("channel", "n")
    )
    report: dict[str, int] = {}
    with timed() as elapsed:
        while batch := deliveries_send_due(limit=500):
            for status, n in batch.items():
                report[status] = report.get(status, 0) + n
    again = deliveries_send_due(limit=500)
    sent = Delivery.objects.filter(status="sent").values("channel").annotate(n=Count("pk"))
    left = Delivery.objects.filter(status__in=["pending", "sending"]).count()
    result = Sending(
        due, elapsed[0], report, len(mail.outbox), len(sms.outbox), again, dict(sent.values_list("channel", "n")), left
    )
    progress(f"sending: {report} in {elapsed[0]:.2f} s ({result.sent / elapsed[0]:,.0f}/s); again {again}")
    return result


# --- 4. The page-view middleware ---------------------------------------------------------


@dataclass
class MiddlewareRow:
    label: str
    samples: list[float]


def _page(request):
    from django.http import HttpResponse

    return HttpResponse("<!DOCTYPE html><title>x</title>", content_type="text/html; charset=utf-8")


def _middleware_run(requests: int, user_agent: str) -> list[float]:
    """µs the middleware adds to each of ``requests`` resolved requests (500 returning visitors)."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory
    from django.urls import resolve

    from pointsmall.analytics import visitors
    from pointsmall.analytics.middleware import PageViewMiddleware

    factory = RequestFactory()
    middleware = PageViewMiddleware(_page)
    match = resolve("/mall/products/")
    samples = []
    for n in range(requests):
        request = factory.get("/mall/products/", HTTP_USER_AGENT=user_agent)
        request.user = AnonymousUser()
        request.COOKIES[visitors.COOKIE_NAME] = visitors.signed_value(f"{n % 500:032x}")
        request.resolver_match = match
        start = time.perf_counter()
        middleware.process_view(request, _page, (), {})
        middleware(request)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def bench_middleware(requests: int) -> list[MiddlewareRow]:
    """The middleware around a small page with the request already resolved, in four set-ups:
    not counted (a bot), Redis, the database fallback (no REDIS_URL) and a dead Redis."""
    from django.conf import settings

    import pointsmall.analytics.services as services
    from pointsmall.analytics import store

    redis_url, real_business_date = settings.REDIS_URL, services.business_date
    # Every counted view lands on the bench day, never on a real one.
    services.business_date = lambda moment=None: BENCH_DAY
    setups = [("not counted (bot)", redis_url, "Googlebot/2.1")]
    if redis_url:
        setups.append(("Redis", redis_url, BROWSER))
    setups.append(("database fallback (no REDIS_URL)", "", BROWSER))
    if redis_url:
        setups.append(("dead Redis (retry pause open)", "redis://127.0.0.1:1/0", BROWSER))
    rows = []
    try:
        for label, url, user_agent in setups:
            settings.REDIS_URL = url
            store.reset()
            _middleware_run(50, user_agent)  # warm-up: connections, first queries
            rows.append(MiddlewareRow(label, _middleware_run(requests, user_agent)))
            progress(f"middleware {label}: p50 {percentile(rows[-1].samples, 0.5):,.0f} µs")
    finally:
        settings.REDIS_URL, services.business_date = redis_url, real_business_date
        store.reset()
    return rows


# --- 5. The traffic roll-up --------------------------------------------------------------


@dataclass
class Rollup:
    visitors: int
    page_types: int
    views: int
    fallback_views: int
    seconds: list[float]
    same: bool
    report: object = None


def _traffic_rows() -> list[tuple]:
    from pointsmall.analytics.models import PageDaily, ProductDaily

    pages = PageDaily.objects.filter(day=BENCH_DAY).order_by("page_type")
    products = ProductDaily.objects.filter(day=BENCH_DAY).order_by("product_id")
    return [
        *pages.values_list("page_type", "views", "visitors", "timed_views", "time_on_page_ms"),
        *products.values_list("product_id", "views", "visitors", "redeem_starts"),
    ]


def bench_rollup(visitors: int, fallback_share: int = 10) -> Rollup:
    """Every visitor views every page type on BENCH_DAY (product and redemption pages of one of
    the demo products); one visitor in ``fallback_share`` went to the database fallback."""
    from catalog.models import Product
    from pointsmall.analytics.enums import PageType
    from pointsmall.analytics.models import RawVisit
    from pointsmall.analytics.services import traffic_rollup, view_record

    products = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:20]) or [None]
    rng = random.Random(12)
    raw, views = [], 0
    for n in range(visitors):
        visitor = f"{n:032x}"
        for page_type in PageType.values:
            product = rng.choice(products) if page_type in (PageType.PRODUCT, PageType.REDEEM) else None
            if n % fallback_share == 0:
                raw.append(RawVisit(day=BENCH_DAY, page_type=page_type, visitor=visitor, product_id=product))
            else:
                view_record(
                    page_type=page_type,
                    visitor=visitor,
                    product_id=product,
                    redeem_start=page_type == PageType.REDEEM,
                    day=BENCH_DAY,
                )
            views += 1
    RawVisit.objects.bulk_create(raw, batch_size=2000)
    progress(f"traffic: {views:,} views of {visitors:,} visitors ({len(raw):,} in the database fallback)")
    seconds, figures = [], []
    for _ in range(2):
        with timed() as elapsed:
            report = traffic_rollup(day=BENCH_DAY)
        seconds.append(elapsed[0])
        figures.append(_traffic_rows())
    result = Rollup(visitors, len(PageType.values), views, len(raw), seconds, figures[0] == figures[1], report)
    progress(f"traffic_rollup: {seconds[0]:.3f} s, again {seconds[1]:.3f} s, same numbers: {result.same}")
    return result


def analytics_cleanup() -> None:
    """Delete what the traffic benchmarks wrote: their Redis keys and their day's rows."""
    from django.conf import settings

    from pointsmall.analytics.models import PageDaily, ProductDaily, RawTiming, RawVisit

    for model in (RawVisit, RawTiming, PageDaily, ProductDaily):
        model.objects.filter(day=BENCH_DAY).delete()
    if settings.REDIS_URL:
        import redis

        conn = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(conn.scan_iter(f"{settings.ANALYTICS_REDIS_PREFIX}:*"))
        if keys:
            conn.delete(*keys)


# --- 6. The dashboard --------------------------------------------------------------------


@dataclass
class PageTiming:
    url: str
    status: int
    queries: int
    samples: list[float]


@dataclass
class Dashboard:
    members: int
    checkins: int
    earnings: int
    metric_rows: int
    rollups: dict[int, list[float]] = field(default_factory=dict)
    pages: list[PageTiming] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(page.status == 200 for page in self.pages)


def seed_activity(members: int, days: int = 90, share: float = 0.3) -> tuple[int, int]:
    """``members`` members who joined over the last ``days`` days, each checking in on about
    ``share`` of the days since. Returns (members, check-ins)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from pointsmall.kernel.clock import business_date
    from tasks.models import Checkin

    rng = random.Random(90)
    user_ids = make_members(members, prefix="dash")
    today, now = business_date(), timezone.now()
    joined = {pk: rng.randrange(days) for pk in user_ids}
    user_model = get_user_model()
    users = [user_model(pk=pk, date_joined=now - timedelta(days=ago)) for pk, ago in joined.items()]
    user_model.objects.bulk_update(users, ["date_joined"], batch_size=2000)
    checkins = [
        Checkin(member_id=pk, day=today - timedelta(days=ago), streak=1, points=5, created_at=now - timedelta(days=ago))
        for pk, since in joined.items()
        for ago in range(since + 1)
        if rng.random() < share
    ]
    Checkin.objects.bulk_create(checkins, batch_size=5000)
    return len(user_ids), len(checkins)


def seed_earnings(per_member: int) -> int:
    """Each bench member's first ``per_member`` check-ins also earn points through ``points_earn``,
    dated at the check-in (oldest first), so the ledger's figures have 90 days of history."""
    from points.services import points_earn
    from tasks.models import Checkin

    earned: dict[int, int] = {}
    calls = 0
    for member_id, day, created_at in (
        Checkin.objects.filter(member__email__startswith="bench-dash-")
        .order_by("created_at", "pk")
        .values_list("member_id", "day", "created_at")
    ):
        if earned.get(member_id, 0) >= per_member:
            continue
        earned[member_id] = earned.get(member_id, 0) + 1
        points_earn(user_id=member_id, amount=10, idempotency_key=f"bench-dash-{member_id}-{day}", now=created_at)
        calls += 1
    return calls


def bench_dashboard(members: int, requests: int, repeat: int, earnings_per_member: int = 3) -> Dashboard:
    from pointsmall.dashboard.models import DailyMetric
    from pointsmall.dashboard.services import dashboard_rollup

    seeded, checkins = seed_activity(members)
    earnings = seed_earnings(earnings_per_member)
    progress(f"dashboard: {seeded:,} members joined over 90 days, {checkins:,} check-ins, {earnings:,} earnings")
    result = Dashboard(seeded, checkins, earnings, 0)
    for days in (2, 90):
        result.rollups[days] = []
        for _ in range(repeat):
            with timed() as elapsed:
                dashboard_rollup(days=days)
            result.rollups[days].append(elapsed[0])
        progress(f"dashboard_rollup(days={days}): {statistics.median(result.rollups[days]):.3f} s")
    result.metric_rows = DailyMetric.objects.count()
    result.pages = time_pages(requests)
    return result


def time_pages(requests: int) -> list[PageTiming]:
    """Time the admin index (the dashboard) for each period and each chart's CSV, signed in as the
    first active superuser (None if there is none), in-process."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from pointsmall.dashboard.selectors import CHARTS

    operator = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if operator is None:
        return []
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    urls = [f"/admin/?days={d}" for d in DASHBOARD_PERIODS] + [f"/admin/dashboard/{c}.csv?days=90" for c in CHARTS]
    pages = []
    for url in urls:
        client.get(url)  # warm the template and translation caches
        samples = []
        for _ in range(requests):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - start)
        pages.append(PageTiming(url, response.status_code, len(queries), samples))
        progress(f"{url}: {response.status_code}, median {statistics.median(samples) * 1000:.0f} ms")
    return pages


# --- Report -------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:,.1f} ms"


def _check(ok: bool) -> str:
    return "ok" if ok else "**FAILED**"


def middleware_table(rows: list[MiddlewareRow]) -> list[str]:
    """µs per request of each set-up."""
    return [
        "| set-up | mean | p50 | p95 | p99 |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {row.label} | {statistics.mean(row.samples):,.0f} | {percentile(row.samples, 0.5):,.0f} | "
            f"{percentile(row.samples, 0.95):,.0f} | {percentile(row.samples, 0.99):,.0f} |"
            for row in rows
        ),
    ]


def pages_table(pages: list[PageTiming]) -> list[str]:
    """Median, p95 and queries of each dashboard URL, against the issue's target (p95 under a second)."""
    return [
        "| page | median | p95 | SQL queries | target < 1 s |",
        "|---|---:|---:|---:|---|",
        *(
            f"| `{page.url}` | {_ms(statistics.median(page.samples))} | {_ms(percentile(page.samples, 0.95))} | "
            f"{page.queries} | {'met' if percentile(page.samples, 0.95) < DASHBOARD_TARGET_SECONDS else '**missed**'}"
            f"{'' if page.status == 200 else f' (status {page.status})'} |"
            for page in pages
        ),
    ]


def render(info, args, sends, fanout, sending, middleware, rollup, dashboard, load) -> str:
    due = ", ".join(f"{n:,} {channel}" for channel, n in sorted(sending.due.items()))
    lines = [
        f"Written by `{common.command_line()}`.",
        "",
        common.machine_table(info),
        "",
        f"Load average (1/5/15 min) at the start {'/'.join(f'{x:.1f}' for x in load[0])}, at the end "
        f"{'/'.join(f'{x:.1f}' for x in load[1])}, on {info['cores']} cores. One process, one connection, "
        "in-process requests (test client, no network, no gunicorn). Celery's after-commit nudges go to an "
        "in-memory broker nobody reads (their cost is in the figures); the deliveries are sent by "
        "`deliveries_send_due`, as the beat sweep does. Targets are the issue's where it gives one.",
        "",
        "### Notifications",
        "",
        f"`notification_send` of an announcement to one member, {args.calls:,} calls each with its own "
        "`dedupe_key`; the second member turned e-mail and SMS on (`notification_preferences_set`) and has a "
        "verified address and phone, so each call also writes two `Delivery` rows.",
        "",
        "| call | SQL statements per call | calls/s | deliveries per call |",
        "|---|---:|---:|---:|",
        *(f"| {c.label} | {c.queries} | {c.per_second:,.0f} | {c.deliveries:g} |" for c in sends),
        "",
        f"`notifications_send_bulk` to {fanout.members:,} members, one in four of whom turned e-mail on "
        f"({fanout.email_members:,}, each with a verified address):",
        "",
        "| run | seconds | rows/s | new notifications | new deliveries |",
        "|---|---:|---:|---:|---:|",
        f"| first | {fanout.seconds:.2f} | {fanout.rows_per_second:,.0f} | {fanout.rows:,} | {fanout.deliveries:,} |",
        f"| again (same `dedupe_key`) | {fanout.again_seconds:.2f} | — | {fanout.again_rows:,} | "
        f"{fanout.again_deliveries:,} |",
        "",
        f"Correctness (one notification per member, one delivery per e-mail member, nothing new the second "
        f"time): {_check(fanout.ok)}.",
        "",
        f"Sending every pending delivery with `deliveries_send_due(limit=500)` until none is due, Django's locmem "
        f"e-mail backend and `accounts.sms.LocmemBackend` ({due}): "
        f"**{sending.sent:,} sent in {sending.seconds:.2f} s, {sending.sent / sending.seconds:,.0f} deliveries/s** "
        f"(each one claimed, rendered in the member's language and marked sent on its own). Running it again: "
        f"{sending.again.get('sent', 0)} sent. Outcomes: "
        f"{', '.join(f'{n:,} {status}' for status, n in sorted(sending.report.items()))} (skipped: demo members "
        f"without a verified address or phone). Correctness (each delivery sent exactly once: "
        f"{sending.emails:,} e-mails and {sending.texts:,} texts in the outboxes, as many as rows marked sent; "
        f"none left pending): {_check(sending.ok)}.",
        "",
        "### Traffic",
        "",
        f"`PageViewMiddleware` around a small page, the request already resolved (only the middleware's own work "
        f"is timed), {args.requests:,} requests per set-up from 500 returning visitors, µs per request:",
        "",
        *middleware_table(middleware),
        "",
        f"`traffic_rollup` of one day: {rollup.visitors:,} visitors × {rollup.page_types} page types "
        f"({rollup.views:,} views, {rollup.fallback_views:,} of them in the database fallback, whose visitors are "
        f"folded into Redis's HyperLogLogs): **{rollup.seconds[0]:.3f} s**, again {rollup.seconds[1]:.3f} s. "
        f"Same numbers both times: {_check(rollup.same)}.",
        "",
        "### Operators' dashboard",
        "",
        f"The demo (`seed_demo`: four members with 14 months of history, catalogue, orders, draws, 90 days of "
        f"traffic) plus {dashboard.members:,} members who joined over the last 90 days and "
        f"{dashboard.checkins:,} check-ins, the first three of each member also earning points (`points_earn` dated "
        f"then: {dashboard.earnings:,} entries); {dashboard.metric_rows:,} `DailyMetric` rows after the roll-up. "
        f"`dashboard_rollup`, median of {args.repeat}: "
        + ", ".join(f"{days} days **{statistics.median(s):.3f} s**" for days, s in dashboard.rollups.items())
        + ".",
        "",
        f"The admin index (the dashboard) and each CSV, signed in as the demo admin, {args.page_requests} "
        f"requests each after one warm-up. Target: under a second on the demo data.",
        "",
        *pages_table(dashboard.pages),
        "",
        "### Reproduce",
        "",
        "```sh",
        f"DATABASE_URL={common.EXAMPLE_DATABASE_URL} REDIS_URL=redis://127.0.0.1:6379/5 "
        ".venv/bin/python -m bench.operations [--quick]",
        "```",
        "",
        "Options: `--calls N`, `--fanout-members N`, `--requests N`, `--visitors N`, `--dashboard-members N`, "
        "`--page-requests N`, `--repeat N`, `--no-report`. Without `REDIS_URL` the Redis rows of the "
        "middleware table are left out and the roll-up reads the database only.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.operations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under two minutes)")
    parser.add_argument("--calls", type=int, help="notification_send calls per member (default 1,000)")
    parser.add_argument("--fanout-members", type=int, help="members of the fan-out (default 20,000)")
    parser.add_argument("--requests", type=int, help="middleware requests per set-up (default 2,000)")
    parser.add_argument("--visitors", type=int, help="visitors of the roll-up's day (default 2,000)")
    parser.add_argument("--dashboard-members", type=int, help="members joining over 90 days (default 2,000)")
    parser.add_argument("--page-requests", type=int, help="requests per dashboard URL (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each dashboard roll-up (default 3)")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    quick = args.quick
    args.calls = args.calls or (200 if quick else 1_000)
    args.fanout_members = args.fanout_members or (2_000 if quick else 20_000)
    args.requests = args.requests or (500 if quick else 2_000)
    args.visitors = args.visitors or (300 if quick else 2_000)
    args.dashboard_members = args.dashboard_members or (500 if quick else 2_000)
    args.page_requests = args.page_requests or (5 if quick else 20)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # The dashboard is the admin index; the bench signs in without a second factor.
    os.environ.setdefault("ADMIN_REQUIRE_MFA", "false")
    common.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host must be allowed
    quiet_celery()
    settings.ANALYTICS_REDIS_PREFIX = f"bench:analytics:{uuid.uuid4().hex}"
    info = common.machine()
    load_start = os.getloadavg()
    progress(f"operations benchmark on {info['cpu']} ×{info['cores']}, Postgres {info['postgres']}")
    truncate()
    seed_demo()
    progress("demo seeded")
    try:
        sends = bench_send(args.calls)
        fanout = bench_fanout(args.fanout_members)
        sending = bench_sending()
        middleware = bench_middleware(args.requests)
        rollup = bench_rollup(args.visitors)
    finally:
        analytics_cleanup()
    dashboard = bench_dashboard(args.dashboard_members, args.page_requests, args.repeat)
    body = render(info, args, sends, fanout, sending, middleware, rollup, dashboard, (load_start, os.getloadavg()))
    print()
    print(body)
    if not args.no_report:
        common.write_section(HEADING, body)
        progress(f"wrote the {HEADING} section of {common.REPORT_PATH}")
    if not (fanout.ok and sending.ok and rollup.same and dashboard.ok):
        raise SystemExit("a correctness check failed (see above)")


if __name__ == "__main__":
    main()
