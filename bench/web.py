"""Requests over HTTP (issue #15): the member pages and hot paths against the framework floor, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench_http REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python -m bench.web [--quick]

It TRUNCATES users, the ledger, the catalog and the lottery (Postgres named ``pm_bench*`` only), builds
the data set with set-based SQL (``bench.ledger_data``: 100k members with 10 lots each = 1M lots;
10k products; ``--quick``: 2k members, 500 products), collects the static files into a temporary
STATIC_ROOT and starts ``gunicorn -c gunicorn.conf.py pointsmall.wsgi`` with DJANGO_DEBUG=0
(``bench.http_load``; plain HTTP on loopback with ``X-Forwarded-Proto: https`` from the trusted proxy
address). The load comes from this process (asyncio + httpx), bounded in requests and seconds.

Every ratio is measured in the same run against the framework floor: ``GET /favicon.ico`` as a signed-in
member, an existing view that answers a redirect through the whole middleware stack (session, CSRF,
auth, locale, messages, page-view count) without a template or a query of its own. ``/healthz`` is
shown beside it but is no floor: it is answered before the other middleware.

Correctness is checked after each scenario (no oversell, exactly 1 check-in per member, prize stock
exact, each purchase earned once); the run exits non-zero when one fails, never on a timing. The
``## Requests over HTTP (issue #15)`` section of docs/benchmarks.md is rewritten.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import re
import secrets
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench import common, http_load
from bench.common import progress
from bench.http_load import Browser, Member, Request, Session, Summary, summarize

HEADING = "Requests over HTTP (issue #15)"
PASSWORD = "bench-Passw0rd-15"  # noqa: S105 (the bench members' password)
PIN = "582916"
FLOOR = "/favicon.ico"
REAL_LOGINS = 4  # members signed in over HTTP like a browser; the rest get minted sessions (http_load.sessions_mint)
# A redemption told "busy" (503 + Retry-After) waits and sends again, as the busy page tells the member.
BUSY_RETRIES = 20


@dataclass(frozen=True)
class Sizes:
    members: int
    lots_per_member: int
    products: int
    floor_requests: int
    page_requests: int
    buyers: int  # P1/P2/P7 concurrency (members)
    hot_stock: int
    attempts: int  # P1 redemption attempts per run (hot and spread alike)
    checkin_members: int
    draws: int
    prize_quantity: int
    purchases: int
    seconds: float  # the deadline of each timed burst


FULL = Sizes(100_000, 10, 10_000, 3000, 600, 64, 1000, 1200, 1000, 640, 200, 640, 120.0)
QUICK = Sizes(2_000, 2, 500, 400, 80, 64, 100, 160, 200, 128, 20, 128, 60.0)
TINY = Sizes(40, 1, 20, 30, 8, 4, 6, 10, 6, 8, 2, 6, 30.0)  # the test's run


# --- Data --------------------------------------------------------------------------------


def truncate_catalog() -> None:
    from django.db import connection

    from catalog.models import Category, Product
    from lottery.models import LotteryCampaign

    tables = [Category._meta.db_table, Product._meta.db_table, LotteryCampaign._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


@dataclass
class World:
    members: list[Member]
    hot_product: int
    spread_products: list[int]
    other_products: int
    campaign: int
    limited_prize: int
    host: Any = None
    buyers_external: list[str] = field(default_factory=list)


def build(sizes: Sizes) -> World:
    """The data set: members with lots (set-based), passwords, PINs and addresses for the buyers, products,
    a lottery campaign with one limited prize, a host client with linked members."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.core.cache import cache
    from django.utils import timezone

    from accounts import services as accounts_services
    from accounts.models import PaymentPin
    from accounts.pin_hash import pin_hash_make
    from bench import integration
    from bench.ledger_data import LedgerShape, build_ledger
    from catalog.enums import ProductKind
    from catalog.models import Category, Product
    from lottery import services as lottery_services
    from lottery.models import LotteryPrize

    now = timezone.now()
    integration.truncate()
    truncate_catalog()
    cache.clear()
    build_ledger(
        LedgerShape(accounts=sizes.members, lots_per_account=sizes.lots_per_member, due_per_account=0),
        now,
        step=lambda name: progress(f"ledger: {name}"),
    )
    user_model = get_user_model()
    # Hashed as the server hashes (Django's default PBKDF2 and its iterations, whatever this process's
    # settings say: tests use a fast hasher the server does not know), so a sign-in neither fails nor re-hashes.
    password_hash = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    users = max(sizes.checkin_members, sizes.buyers)
    user_model.objects.filter(pk__lte=users).update(password=password_hash)
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user_id=pk, email=f"bench-{pk}@bench.invalid", verified=True, primary=True)
            for pk in range(1, users + 1)
        ]
    )
    PaymentPin.objects.bulk_create(
        [PaymentPin(user_id=pk, pin_hash=pin_hash_make(user_id=pk, pin=PIN)) for pk in range(1, sizes.buyers + 1)]
    )
    for pk in range(1, sizes.buyers + 1):
        accounts_services.address_create(
            user_id=pk,
            recipient="王小明",
            phone="13800138000",
            province="浙江省",
            city="杭州市",
            district="西湖区",
            detail=f"文三路 {pk} 号",
            postal_code="310000",
        )
    members = [Member(pk, f"bench-{pk}@bench.invalid", PASSWORD) for pk in range(1, users + 1)]
    progress(f"{users} members with passwords, {sizes.buyers} with PINs and addresses")

    categories = Category.objects.bulk_create(
        [Category(name_zh=f"分类{n}", name_en=f"Category {n}", slug=f"c{n}", sort=n) for n in range(8)]
    )
    products = Product.objects.bulk_create(
        [
            Product(
                name_zh=f"商品{n}",
                name_en=f"Item {n}",
                description_zh="中文介绍",
                description_en="An English description.",
                category=categories[n % len(categories)],
                kind=ProductKind.PHYSICAL,
                points_price=10 + n % 40,
                stock=sizes.hot_stock if n == 0 else 100_000,
                per_order_limit=5,
                low_stock_threshold=1,
            )
            for n in range(sizes.products)
        ],
        batch_size=2000,
    )
    progress(f"{len(products)} products")
    campaign = lottery_services.lottery_campaign_create(
        name="基准转盘",
        name_en="Bench wheel",
        description="每次 10 积分。",
        description_en="10 points a draw.",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        cost_points=10,
        tier_free_draws=False,
    )
    limited = LotteryPrize.objects.create(
        campaign=campaign, position=0, name="20积分", name_en="20 points", kind="points", points=20,
        weight_bp=3000, quantity=sizes.prize_quantity,
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, position=1, name="谢谢参与", name_en="Thanks for playing", kind="none", weight_bp=7000
    )
    lottery_services.lottery_campaign_publish(campaign_id=campaign.pk, now=now - timedelta(hours=2))
    host = integration.make_host("Bench shop")
    buyers_external = [f"shop-{n}" for n in range(32)]
    for name in buyers_external:
        integration.link_member(host, name)
    spread = [p.pk for p in products[1 : 1 + sizes.buyers]]
    return World(members, products[0].pk, spread, len(products), campaign.pk, limited.pk, host, buyers_external)


# --- Scenarios ---------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a scenario's figure, its target and whether it was met."""

    scenario: str
    figure: str
    target: str
    met: bool | None  # None: informational
    note: str = ""


def _rate_row(label: str, summary: Summary) -> str:
    errors = f", errors {summary.errors}" if summary.errors else ""
    return (
        f"{label}: {summary.ok}/{summary.count} ok, {summary.rate:,.0f}/s, "
        f"p50 {summary.p50 * 1000:.0f} ms, p99 {summary.p99 * 1000:.0f} ms{errors}"
    )


async def timed_burst(
    browser: Browser, sessions, factory, *, concurrency: int, total: int, seconds: float, retry_busy: int = 0
):
    results = await http_load.burst_async(
        browser, sessions, factory, concurrency=concurrency, deadline=seconds, total=total, retry_busy=retry_busy
    )
    return results, summarize(results)


def _confirm_fields(page: dict[str, str], html_address: str | None) -> dict[str, str]:
    data = {k: page[k] for k in ("confirmation",) if k in page}
    if "address" in page:
        data["address"] = page["address"]
    elif html_address:
        data["address"] = html_address
    return data


async def redemption_forms(browser: Browser, sessions: list[Session], products: list[int]) -> list[dict[str, str]]:
    """The confirmation page of product ``products[i]`` as ``sessions[i]``: the signed totals and the address.
    One page per member and product: each attempt then sends a fresh idempotency key (32 hex)."""

    async def one(session: Session, product: int) -> dict[str, str]:
        result, response = await browser.send(session, Request("GET", f"/mall/products/{product}/redeem/?quantity=1"))
        if response is None or response.status_code != 200:
            raise SystemExit(f"the confirmation page of product {product} answered {result.status}")
        fields = http_load.form_fields(response.text)
        address = re.search(r'name="address"[^>]*value="(\d+)"', response.text)
        return _confirm_fields(fields, address.group(1) if address else None)

    return await http_load._pool(
        [lambda s=s, p=p: one(s, p) for s, p in zip(sessions, products, strict=True)], concurrency=8
    )


def redeem_factory(forms: list[dict[str, str]], products: list[int]):
    def factory(session: Session, i: int) -> Request:
        n = i % len(forms)
        data = {**forms[n], "quantity": "1", "pin": PIN, "idempotency_key": secrets.token_hex(16)}
        return Request("POST", f"/mall/products/{products[n]}/redeem/", data, expect=(302,))

    return factory


def stock_check(product_id: int, stock_before: int) -> tuple[bool, str]:
    """No oversell: sold + stock left = stock before, orders placed = units sold, stock never negative."""
    from catalog.models import Order, Product

    product = Product.objects.get(pk=product_id)
    ordered = Order.objects.filter(product_id=product_id).count()
    ok = product.stock >= 0 and product.stock + ordered == stock_before and ordered == product.sold
    return ok, f"stock {stock_before} → {product.stock}, {ordered} orders, sold {product.sold}"


async def checkin_storm(browser: Browser, sessions: list[Session], sizes: Sizes):
    def factory(session: Session, i: int) -> Request:
        return Request("POST", "/checkin/record/", expect=(302,))

    return await timed_burst(browser, sessions, factory, concurrency=64, total=len(sessions) * 3, seconds=sizes.seconds)


async def lottery_forms(browser: Browser, sessions: list[Session], campaign: int) -> list[dict[str, str]]:
    pages = await http_load.form_values_async(browser, sessions, f"/lottery/{campaign}/")
    for page in pages:
        if "confirmation" not in page:
            raise SystemExit("the lottery page had no draw form")
    return [{"confirmation": page["confirmation"]} for page in pages]


def draw_factory(forms: list[dict[str, str]], campaign: int):
    def factory(session: Session, i: int) -> Request:
        data = {
            **forms[i % len(forms)],
            "idempotency_key": secrets.token_hex(16),
            "client_seed": secrets.token_hex(8),
        }
        return Request("POST", f"/lottery/{campaign}/draw/", data, expect=(302,))

    return factory


def prize_check(campaign: int, prize_id: int, quantity: int) -> tuple[bool, str]:
    from lottery.models import Draw, LotteryPrize

    prize = LotteryPrize.objects.get(pk=prize_id)
    won = Draw.objects.filter(campaign_id=campaign, prize_id=prize_id).count()
    draws = Draw.objects.filter(campaign_id=campaign).count()
    ok = prize.remaining is not None and prize.remaining >= 0 and won + prize.remaining == quantity
    return ok, f"{draws} draws, limited prize won {won}×, {prize.remaining} of {quantity} left"


async def purchases(base: str, world: World, sizes: Sizes):
    """Signed ``POST /api/v1/purchases`` at 32 concurrent; every order sent twice (the replay races the first)."""
    import httpx

    from bench.integration import PURCHASE_ITEMS, Call

    calls = [
        Call(
            "POST",
            "/purchases",
            {
                "external_order_id": f"web-SO-{n}",
                "member": world.buyers_external[n % len(world.buyers_external)],
                "amount": "128.00",
                "items": PURCHASE_ITEMS,
            },
        )
        for n in range(sizes.purchases)
    ]
    sends = [call for call in calls for _ in range(2)]
    async with httpx.AsyncClient(base_url=base, timeout=30.0, trust_env=False) as client:

        async def one(call: Call) -> http_load.Result:
            body = call.body
            headers = {
                **world.host.headers(call.method, call.full_path, body),
                "Content-Type": "application/json",
                "X-Forwarded-Proto": "https",
            }
            started = time.monotonic()
            try:
                response = await client.post(call.full_path, content=body, headers=headers)
            except httpx.HTTPError as error:
                return http_load.Result(None, time.monotonic() - started, http_load._error_kind(error), "", started)
            kind = None if response.status_code in (200, 201) else "http"
            return http_load.Result(response.status_code, time.monotonic() - started, kind, "", started)

        results = await http_load._pool([lambda c=c: one(c) for c in sends], concurrency=32)
    return results, summarize(results)


def purchase_check(sizes: Sizes) -> tuple[bool, str]:
    from points.models import Purchase

    made = Purchase.objects.filter(external_id__contains="web-SO-").count()
    return made == sizes.purchases, f"{sizes.purchases} orders sent twice each → {made} purchases"


# --- Queries per page (in-process) -------------------------------------------------------


def page_queries() -> dict[str, int]:
    """SQL statements of one GET as a signed-in member, in-process (Django's test client): the catalog
    at 12 and 48 cards a page (the page size is a keyword default of ``product_page``), the home page."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog.selectors import products as product_selectors

    client = Client()
    client.force_login(get_user_model().objects.get(pk=1))
    counts: dict[str, int] = {}
    defaults = product_selectors.product_page.__kwdefaults__
    saved = dict(defaults)
    try:
        for size in (12, 48):
            defaults["per_page"] = size
            client.get("/mall/products/")  # caches warm, as on a server that has served the page before
            with CaptureQueriesContext(connection) as captured:
                client.get("/mall/products/")
            counts[f"catalog, {size} cards"] = len(captured)
    finally:
        defaults.clear()
        defaults.update(saved)
    client.get("/")
    with CaptureQueriesContext(connection) as captured:
        client.get("/")
    counts["home"] = len(captured)
    return counts


def profile_page(path: str, repeat: int = 20) -> str:
    """The top functions (cumulative time) of ``repeat`` GETs of ``path`` in-process, as a signed-in member."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=1))
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # Where the time goes: the heaviest functions by own time, then the project's own functions by
    # cumulative time (which view, selector or template tag pays for it).
    stats.sort_stats("tottime").print_stats(8)
    stats.sort_stats("cumulative").print_stats(r"/(catalog|points|tasks|lottery|accounts|pointsmall)/", 14)
    text = out.getvalue()
    # Keep the table lines only, with paths shortened to the repository.
    keep = [line.replace(str(common.REPORT_PATH.parent.parent) + "/", "") for line in text.splitlines()]
    return "\n".join(
        line for line in keep if line.strip() and not line.lstrip().startswith(("List reduced", "Ordered"))
    )


# --- The run -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, for development)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the test's run
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--profile", action="store_true", help="cProfile the pages that miss their target")
    return parser.parse_args(argv)


@dataclass
class Outcome:
    rows: list[Row]
    lines: list[str]
    checks: dict[str, tuple[bool, str]]
    queries: dict[str, int]
    profiles: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(ok for ok, _note in self.checks.values())


async def scenarios(server: http_load.Server, world: World, sizes: Sizes) -> tuple[list[Row], list[str], dict]:
    base = server.base
    browser = Browser(base, connections=64)
    lines: list[str] = []
    rows: list[Row] = []
    checks: dict[str, tuple[bool, str]] = {}

    def say(line: str) -> None:
        lines.append(line)
        progress(line)

    try:
        real = await http_load.login_many_async(browser, world.members[:REAL_LOGINS], concurrency=4)
        say(f"{len(real)} members signed in over HTTP (sign-in page, CSRF, password)")
        minted = http_load.sessions_mint(base, world.members[REAL_LOGINS:])
        sessions = real + minted
        buyers = sessions[: sizes.buyers]

        # Warm-up, untimed: every worker imports its views and compiles its templates on its first requests.
        warm = [FLOOR, "/", "/mall/products/", f"/mall/products/{world.spread_products[0]}/", "/points/",
                "/mall/orders/", "/checkin/", "/tasks/", f"/lottery/{world.campaign}/"]  # fmt: skip
        await http_load.burst_async(
            browser,
            sessions[:8],
            lambda s, i: Request("GET", warm[i % len(warm)]),
            concurrency=8,
            total=len(warm) * 12,
            deadline=sizes.seconds,
        )

        # The floor, and /healthz for reference.
        _r, floor = await timed_burst(
            browser,
            sessions[:8],
            lambda s, i: Request("GET", FLOOR, expect=(301,)),
            concurrency=8,
            total=sizes.floor_requests,
            seconds=sizes.seconds,
        )
        say(_rate_row(f"floor GET {FLOOR}", floor))
        _r, health = await timed_burst(
            browser,
            sessions[:8],
            lambda s, i: Request("GET", "/healthz", expect=(200,)),
            concurrency=8,
            total=sizes.floor_requests,
            seconds=sizes.seconds,
        )
        say(_rate_row("GET /healthz (before the middleware)", health))
        rows.append(Row("floor", f"{floor.rate:,.0f} req/s (p50 {floor.p50 * 1000:.0f} ms)", "—", None))

        # P3 and P8: pages.
        pages = {
            "home": "/",
            "catalog": "/mall/products/",
            "product": f"/mall/products/{world.spread_products[0]}/",
            "my points": "/points/",
            "orders": "/mall/orders/",
            "check-in": "/checkin/",
            "tasks": "/tasks/",
            "lottery": f"/lottery/{world.campaign}/",
        }
        page_summaries: dict[str, Summary] = {}
        for name, path in pages.items():
            _r, summary = await timed_burst(
                browser,
                sessions[:8],
                lambda s, i, path=path: Request("GET", path, expect=(200,)),
                concurrency=8,
                total=sizes.page_requests,
                seconds=sizes.seconds,
            )
            page_summaries[name] = summary
            say(_rate_row(f"GET {path} ({name})", summary))
        for name in ("catalog", "home"):
            ratio = page_summaries[name].rate / floor.rate if floor.rate else 0.0
            rows.append(Row(f"P3 {name} page vs floor", f"{ratio:.2f}×", "≥ 0.35×", ratio >= 0.35))
        for name, summary in page_summaries.items():
            met = summary.p50 <= 0.050 and summary.p99 <= 0.200 and summary.ok == summary.count
            rows.append(
                Row(
                    f"P8 {name}",
                    f"p50 {summary.p50 * 1000:.0f} ms, p99 {summary.p99 * 1000:.0f} ms",
                    "p50 ≤ 50 ms, p99 ≤ 200 ms",
                    met,
                )
            )

        # P1 and P2: redemptions, one hot product vs spread over `buyers` products.
        hot_forms = await redemption_forms(browser, buyers, [world.hot_product] * len(buyers))
        spread_forms = await redemption_forms(browser, buyers, world.spread_products[: len(buyers)])
        _r, hot = await timed_burst(
            browser,
            buyers,
            redeem_factory(hot_forms, [world.hot_product] * len(buyers)),
            concurrency=len(buyers),
            total=sizes.attempts,
            seconds=sizes.seconds,
            retry_busy=BUSY_RETRIES,
        )
        # Sold out is a refusal page (200), the expected answer once the stock is gone.
        hot_sold = sum(r.status == 302 for r in _r)
        hot_busy = sum(r.busy for r in _r)
        say(_rate_row(f"P1 hot: {sizes.attempts} attempts on one product (stock {sizes.hot_stock})", hot))
        checks["P1 no oversell"] = stock_check(world.hot_product, sizes.hot_stock)
        spread_products = world.spread_products[: len(buyers)]
        _r, spread = await timed_burst(
            browser,
            buyers,
            redeem_factory(spread_forms, spread_products),
            concurrency=len(buyers),
            total=sizes.attempts,
            seconds=sizes.seconds,
            retry_busy=BUSY_RETRIES,
        )
        say(_rate_row(f"P1 spread: {sizes.attempts} attempts over {len(spread_products)} products", spread))
        say(f"P1 503 'busy' answers waited out and sent again: hot {hot_busy}, spread {sum(r.busy for r in _r)}")
        spread_ok = all(stock_check(pk, 100_000)[0] for pk in spread_products)
        checks["P1 spread stock"] = (spread_ok, f"{len(spread_products)} products, stock + orders = 100000 each")
        # The hot run's rate counts only the orders placed before the stock ran out.
        hot_rate = hot_sold / hot.seconds if hot.seconds else 0.0
        ratio = hot_rate / spread.rate if spread.rate else 0.0
        rows.append(
            Row(
                "P1 hot vs spread (orders/s)",
                f"{ratio:.2f}× ({hot_rate:,.0f}/s vs {spread.rate:,.0f}/s)",
                "≥ 0.8×",
                ratio >= 0.8,
            )
        )
        rows.append(Row("P1 no oversell", checks["P1 no oversell"][1], "exact", checks["P1 no oversell"][0]))
        p99 = max(hot.p99, spread.p99)
        rows.append(
            Row(
                "P1 p99 (hot / spread)",
                f"{hot.p99 * 1000:.0f} / {spread.p99 * 1000:.0f} ms",
                "≤ 300 ms",
                p99 <= 0.300,
            )
        )
        ratio = spread.rate / floor.rate if floor.rate else 0.0
        rows.append(Row("P2 redemption (PIN included) vs floor", f"{ratio:.2f}×", "≥ 0.25×", ratio >= 0.25))

        # P4: check-in storm.
        storm_sessions = sessions[: sizes.checkin_members]
        _results, storm = await checkin_storm(browser, storm_sessions, sizes)
        say(_rate_row(f"P4 check-in: {len(storm_sessions)} members × 3", storm))
        checks["P4 one check-in each"] = checkin_check(len(storm_sessions))
        ratio = storm.rate / floor.rate if floor.rate else 0.0
        rows.append(
            Row("P4 check-ins", checks["P4 one check-in each"][1], "exactly 1 each", checks["P4 one check-in each"][0])
        )
        rows.append(Row("P4 check-in clicks vs floor", f"{ratio:.2f}×", "≥ 0.5×", ratio >= 0.5))

        # P7: lottery draws on one campaign.
        forms = await lottery_forms(browser, buyers, world.campaign)
        _r, draws = await timed_burst(
            browser,
            buyers,
            draw_factory(forms, world.campaign),
            concurrency=len(buyers),
            total=sizes.draws,
            seconds=sizes.seconds,
        )
        say(_rate_row(f"P7 draws: {sizes.draws} at {len(buyers)} concurrent", draws))
        checks["P7 prize stock"] = prize_check(world.campaign, world.limited_prize, sizes.prize_quantity)
        ratio = draws.rate / spread.rate if spread.rate else 0.0
        rows.append(Row("P7 draws vs spread redemptions", f"{ratio:.2f}×", "≥ 0.5×", ratio >= 0.5))
        rows.append(Row("P7 prize stock", checks["P7 prize stock"][1], "exact", checks["P7 prize stock"][0]))
    finally:
        await browser.aclose()

    # P10: the host API.
    _r, bought = await purchases(base, world, sizes)
    say(_rate_row(f"P10 POST /api/v1/purchases: {sizes.purchases} orders × 2", bought))
    checks["P10 exactly once"] = purchase_check(sizes)
    ratio = bought.rate / floor.rate if floor.rate else 0.0
    rows.append(Row("P10 purchases vs floor", f"{ratio:.2f}×", "≥ 0.3×", ratio >= 0.3))
    rows.append(Row("P10 exactly once", checks["P10 exactly once"][1], "exact", checks["P10 exactly once"][0]))
    for name, summary in [("P1 hot", hot), ("P1 spread", spread), ("P4", storm), ("P7", draws), ("P10", bought)]:
        # A 5xx is a defect; a client timeout (30 s) or reset under overload is a figure, shown in the run's lines.
        server_errors = {k: v for k, v in summary.errors.items() if k.startswith("http 5")}
        if server_errors:
            checks[f"{name} server errors"] = (False, str(summary.errors))
    return rows, lines, checks


def checkin_check(members: int) -> tuple[bool, str]:
    from tasks.models import Checkin

    made = Checkin.objects.filter(member_id__lte=members).count()
    per_member = Checkin.objects.filter(member_id__lte=members).values("member_id").distinct().count()
    return made == members and per_member == members, f"{members} members × 3 clicks → {made} check-ins"


def render(info, sizes: Sizes, args, outcome: Outcome, load: tuple) -> str:
    def mark(met: bool | None) -> str:
        return "—" if met is None else ("met" if met else "**missed**")

    lines = [
        "Measured over HTTP by `bench/web.py` (load generator `bench/http_load.py`: asyncio + httpx 0.28.1 in the",
        "benchmark's process; the server in its own processes). Ratios are taken side by side in one run.",
        "",
        common.machine_table(info),
        "",
        f"Load average (1/5/15 min): {load[0][0]:.2f} / {load[0][1]:.2f} / {load[0][2]:.2f} at the start, "
        f"{load[1][0]:.2f} / {load[1][1]:.2f} / {load[1][2]:.2f} at the end.",
        "",
        f"Data: {sizes.members:,} members × {sizes.lots_per_member} lots = {sizes.members * sizes.lots_per_member:,} "
        f"lots (`bench/ledger_data.py`), {sizes.products:,} products, one lottery campaign.",
        "",
        "Server: `gunicorn -c gunicorn.conf.py pointsmall.wsgi` (the repository's config"
        + (f", {args.workers} workers" if args.workers else "")
        + "), `DJANGO_DEBUG=0`, static files collected into a temporary `DJANGO_STATIC_ROOT`, persistent "
        "database connections (`CONN_MAX_AGE` 60, the production default), sessions in Redis (`cached_db`). "
        "**Local override for plain HTTP on loopback**: every request carries `X-Forwarded-Proto: https` "
        "(`SECURE_PROXY_SSL_HEADER`, as from the TLS-ending proxy on 127.0.0.1) and an `X-Forwarded-For` "
        "of its own per member (`ALLAUTH_TRUSTED_PROXY_COUNT=1`); the Secure cookies are sent back by the "
        "load generator. No setting is weakened.",
        "",
        f"Floor: `GET {FLOOR}` as a signed-in member (an existing view: a redirect through the whole "
        "middleware stack, no template, no query of its own). No bench-only view was added.",
        "",
        f"Members: {REAL_LOGINS} sign in over HTTP like a browser (sign-in page, CSRF cookie and token, "
        "e-mail and password); the others get the same session written in-process "
        "(`http_load.sessions_mint`), so thousands of password hashes do not swamp the run.",
        "",
        "| scenario | figure | target | |",
        "|---|---|---|---|",
        *(f"| {r.scenario} | {r.figure} | {r.target} | {mark(r.met)} |" for r in outcome.rows),
        "",
        "SQL statements per page (in-process, one GET as a signed-in member after a warm-up; target ≤ 5 "
        "whatever the page size):",
        "",
        "| page | statements | |",
        "|---|---|---|",
        *(f"| {name} | {count} | {mark(count <= 5)} |" for name, count in outcome.queries.items()),
        "",
        "Correctness checks:",
        "",
        *(f"- {name}: {note} — {'ok' if ok else '**FAILED**'}" for name, (ok, note) in outcome.checks.items()),
        "",
        "Every figure of the run:",
        "",
        "```",
        *outcome.lines,
        "```",
        "",
        "P5 and P6 (`points_expire`, `points_verify` on 1M lots) and P9 (single-client `points_spend`) are measured "
        "in the ledger sections of this file (`bench/ledger.py`).",
    ]
    for name, text in outcome.profiles.items():
        lines += [
            "",
            f"Profile of `{name}` (cProfile, in-process, sorted by own time):",
            "",
            "```",
            text.strip(),
            "```",
        ]
    lines += ["", "Reproduce:", "", "```", f"DATABASE_URL=... REDIS_URL=... {common.command_line()}", "```"]
    return "\n".join(lines)


def web_run(sizes: Sizes, *, workers: int | None = None) -> tuple[World, Outcome]:
    """Build the data, count queries in-process, then run every scenario against a gunicorn of its own
    (started and stopped here, static files collected into a temporary directory removed after)."""
    world = build(sizes)
    queries = page_queries()
    progress(f"SQL per page: {queries}")
    env = http_load.server_env()
    static_root = http_load.collect_static(env)
    # The checks between bursts read the database from the event loop's thread; nothing else runs
    # there meanwhile, so Django's guard against blocking an event loop does not apply (this process only).
    unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with http_load.running_server(env, workers=workers) as server:
            rows, lines, checks = asyncio.run(scenarios(server, world, sizes))
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
        if unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe
    return world, Outcome(rows, lines, checks, queries, {})


PROFILED_PAGES = {"home": "/", "catalog": "/mall/products/", "my points": "/points/", "orders": "/mall/orders/",
                  "check-in": "/checkin/", "tasks": "/tasks/"}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # WhiteNoise warns in this process (DEBUG settings) that no static files were collected there.
    warnings.filterwarnings("ignore", message="No directory at")
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    common.setup()
    from django.test.utils import setup_test_environment

    from bench import integration

    setup_test_environment()  # the in-process query count uses the test client
    integration.quiet_celery()
    info = common.machine()
    load_start = os.getloadavg()
    progress(f"HTTP benchmark on {info['cpu']} ×{info['cores']}, load {load_start}")
    _world, outcome = web_run(sizes, workers=args.workers)
    if args.profile:
        for row in outcome.rows:
            name = row.scenario.removeprefix("P8 ")
            if row.met is False and row.scenario.startswith("P8 ") and name in PROFILED_PAGES:
                outcome.profiles[PROFILED_PAGES[name]] = profile_page(PROFILED_PAGES[name])
    body = render(info, sizes, args, outcome, (load_start, os.getloadavg()))
    print()
    print(body)
    if not args.no_report:
        common.write_section(HEADING, body)
        progress(f"wrote the {HEADING} section of {common.REPORT_PATH}")
    if not outcome.ok:
        raise SystemExit("a correctness check failed (see above)")


if __name__ == "__main__":
    sys.exit(main())
