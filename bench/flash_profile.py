"""Where a flash sale's time goes (issue #18): CPU and SQL per request, measured so the machine's load does not matter.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench_flash REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python -m bench.flash_profile [--requests 300] [--sales 60]

TRUNCATES users, the ledger and the catalog (Postgres named ``pm_bench*`` only). Wall-clock
latency on a shared 2-core machine says more about the neighbours than about the code, so this
measures what a request *costs*:

- in-process, through the whole middleware stack with Django's test Client: SQL queries and
  CPU milliseconds (``time.process_time``) per request, for the framework floor (``GET
  /favicon.ico`` signed in: the trivial view bench/web.py compares with), a sold-out refusal
  answered early (``catalog.middleware``), the same refusal without the early middleware (what
  the first pass paid: the session, the member, CSRF, the view's precheck, the layout), and a sale;
- over HTTP against gunicorn in the production profile (``bench.http_load``): the workers'
  CPU (from /proc, before and after) per request of each kind, and the load generator's own
  CPU per request (``resource.getrusage``), since both share the machine's cores.

Prints a table and rewrites the ``## Flash sale: cost per request (issue #18)`` section of
docs/benchmarks.md. Targets: a refusal costs at most 1.5× the floor's server CPU and runs 0 SQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import shutil
import sys
import time
import warnings
from pathlib import Path

from bench import common, http_load
from bench.common import progress
from bench.flash_crowd import PIN, build, confirmations, flash_item
from bench.http_load import Browser, Member, Request

HEADING = "Flash sale: cost per request (issue #18)"
FLOOR = "/favicon.ico"
EARLY = "catalog.middleware.RedeemGateMiddleware"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per refusal/floor measure")
    parser.add_argument("--sales", type=int, default=60, help="sales measured (one buyer each)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument(
        "--cprofile", metavar="FILE", help="cProfile the in-process sales; write the top functions by cumulative time"
    )
    parser.add_argument("--in-process-only", action="store_true", help="skip the measures over HTTP")
    return parser.parse_args(argv)


def _sell_out(product_id: int) -> None:
    """The item's database stock and its gate counter at 0 (the counter without expiry, for the whole run)."""
    from catalog import flash_gate
    from catalog.models import Product

    Product.objects.filter(pk=product_id).update(stock=0)
    flash_gate.client().set(flash_gate.key_for(product_id), 0)


def _redeem_form(product_id: int, token: str, key: str) -> dict[str, str]:
    return {"quantity": "1", "pin": PIN, "idempotency_key": key, "confirmation": token}


def in_process(
    product_sold_out: int, product_for_sale: int, buyers: int, n: int, sales: int, cprofile: str | None = None
) -> dict[str, tuple]:
    """kind → (queries per request, CPU ms per request), through the whole stack with the test Client."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    users = get_user_model().objects.in_bulk(list(range(1, buyers + 1)))
    tokens_out = ["not checked: refused before"]

    def client_for(user_id: int) -> Client:
        client = Client(headers={"Accept-Language": "zh-hans"})
        client.force_login(users[user_id])
        return client

    def measure(run, count: int) -> tuple[float, float]:
        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            for i in range(count):
                run(i)
            cpu = time.process_time() - started
        return len(queries.captured_queries) / count, cpu * 1000 / count

    def expect(response, status: int, marker: str = "") -> None:
        # A figure for the wrong answer (a 400 for the host, a redirect to sign in) would be worthless.
        if response.status_code != status or marker.encode() not in response.content:
            raise SystemExit(f"unexpected answer {response.status_code}: {response.content[:300]!r}")

    client = client_for(1)
    url = f"/mall/products/{product_sold_out}/redeem/"
    sold_out = 'data-code="sold_out"'
    expect(client.get(FLOOR, secure=True), 301)  # warm: URL resolver, templates, the session in the cache

    def refuse(i: int) -> None:
        expect(client.post(url, _redeem_form(0, tokens_out[0], f"k{i}"), secure=True), 200, sold_out)

    refuse(0)
    results = {"floor": measure(lambda i: expect(client.get(FLOOR, secure=True), 301), n)}
    results["refusal, early"] = measure(refuse, n)
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != EARLY]):
        client = client_for(1)  # a client loads its middleware once: a new one for the other stack
        refuse(0)
        results["refusal, full stack"] = measure(refuse, n)
    members = [Member(pk, "", "") for pk in range(2, sales + 2)]
    tokens = confirmations(members, product_for_sale)
    clients = [client_for(m.user_id) for m in members]
    sale_url = f"/mall/products/{product_for_sale}/redeem/"

    def sell(i: int) -> None:
        expect(clients[i].post(sale_url, _redeem_form(0, tokens[i], secrets.token_hex(16)), secure=True), 302)

    results["sale"] = measure(sell, sales)
    if cprofile:
        _profile_sales(clients, sale_url, tokens, cprofile)
    return results


def _profile_sales(clients, sale_url: str, tokens: list[str], path: str) -> None:
    """Where a sale's CPU goes: the same buyers again (each order a replay-free new key), under cProfile."""
    import cProfile
    import io
    import pstats

    from catalog import flash_gate
    from catalog.models import Code, Product

    # The sales above used up the item: the same units again (stock, codes, the gate's counter
    # and reservations), so the profiled requests sell too.
    product_id = int(sale_url.split("/")[3])
    Product.objects.filter(pk=product_id).update(stock=len(clients))
    Code.objects.filter(product_id=product_id).update(order=None, assigned_at=None)
    flash_gate.client().delete(flash_gate.key_for(product_id), *flash_gate._reservation_keys(product_id))
    profiler = cProfile.Profile()
    profiler.enable()
    sold = 0
    for i, client in enumerate(clients):
        response = client.post(sale_url, _redeem_form(0, tokens[i], secrets.token_hex(16)), secure=True)
        sold += response.status_code == 302  # a buyer whose points ran out is refused: fewer sales profiled
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(120)
    stats.sort_stats("tottime").print_stats(60)
    Path(path).write_text(out.getvalue())
    progress(f"cProfile of {len(clients)} requests ({sold} sales) written to {path}")


def _workers(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return pids


def _workers_cpu(master: int) -> dict[int, float]:
    return {pid: common.process_cpu_seconds(pid) or 0.0 for pid in _workers(master)}


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _fire(browser: Browser, sessions, make, total: int, concurrency: int) -> list:
    results = []
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            result, _response = await browser.send(sessions[i % len(sessions)], make(i))
            results.append(result)

    await asyncio.gather(*(one(i) for i in range(total)))
    return results


def over_http(server, sessions, product_sold_out: int, product_for_sale: int, n: int, sales: int) -> dict:
    """kind → (server CPU ms per request, client CPU ms per request, requests/s, answers not expected)."""
    tokens_out = ["not checked: refused before"]
    tokens = confirmations([s.member for s in sessions[1 : sales + 1]], product_for_sale)
    url = f"/mall/products/{product_sold_out}/redeem/"
    sale_url = f"/mall/products/{product_for_sale}/redeem/"
    kinds = {
        "floor": (lambda i: Request("GET", FLOOR, expect=(301, 200)), n, sessions[:1]),
        "refusal, early": (
            lambda i: Request("POST", url, _redeem_form(0, tokens_out[0], f"k{i}"), expect=(200,)),
            n,
            sessions[:1],
        ),
        "sale": (
            lambda i: Request("POST", sale_url, _redeem_form(0, tokens[i], secrets.token_hex(16)), expect=(302,)),
            sales,
            sessions[1 : sales + 1],
        ),
    }
    out = {}

    async def warm() -> None:
        # Every worker's first requests import and compile what later ones reuse: not what is measured.
        browser = Browser(server.base, connections=16)
        try:
            await _fire(browser, sessions[:1], kinds["floor"][0], 100, concurrency=8)
            await _fire(browser, sessions[:1], kinds["refusal, early"][0], 100, concurrency=8)
        finally:
            await browser.aclose()

    asyncio.run(warm())
    for kind, (make, total, who) in kinds.items():

        async def run(make=make, total=total, who=who, kind=kind):
            browser = Browser(server.base, connections=16)
            try:
                # Sales two at a time: under any admission limit (a 503 would cost less than a sale).
                return await _fire(browser, who, make, total, concurrency=2 if kind == "sale" else 8)
            finally:
                await browser.aclose()

        before, client_before, started = _workers_cpu(server.process.pid), _client_cpu(), time.monotonic()
        results = asyncio.run(run())
        after, client_after, wall = _workers_cpu(server.process.pid), _client_cpu(), time.monotonic() - started
        # A worker recycled meanwhile is missing from one side: count only those seen on both.
        server_cpu = sum(after[pid] - before[pid] for pid in after if pid in before)
        bad = sum(1 for r in results if not r.ok)
        out[kind] = (server_cpu * 1000 / total, (client_after - client_before) * 1000 / total, total / wall, bad)
        progress(f"{kind}: {out[kind]}")
    return out


def main(argv=None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    common.setup()
    from bench import integration

    integration.quiet_celery()
    info = common.machine()
    load_start = os.getloadavg()
    buyers = 2 * args.sales + 2
    members = build(buyers)
    sold_out, for_sale_local, for_sale_http = flash_item(1, 0), flash_item(args.sales, 1), flash_item(args.sales, 2)
    _sell_out(sold_out)
    progress("in-process, through the whole middleware stack (test Client)")
    from django.test import override_settings

    with override_settings(ALLOWED_HOSTS=["testserver"]):
        local = in_process(sold_out, for_sale_local, buyers, args.requests, args.sales, args.cprofile)
    for kind, figures in local.items():
        progress(f"{kind}: {figures[0]:.1f} queries, {figures[1]:.2f} ms CPU per request")
    if args.in_process_only:
        return
    env = http_load.server_env()
    static_root = http_load.collect_static(env)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with http_load.running_server(env, workers=args.workers) as server:
            sessions = http_load.sessions_mint(server.base, members[args.sales + 1 :])
            remote = over_http(server, sessions, sold_out, for_sale_http, args.requests, args.sales)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    load_end = os.getloadavg()
    floor_cpu = remote["floor"][0]
    early_cpu = remote["refusal, early"][0]
    rows = [
        ("queries per early refusal (whole stack)", f"{local['refusal, early'][0]:.1f}", "0",
         local["refusal, early"][0] == 0),
        ("server CPU per early refusal vs the floor", f"{early_cpu:.2f} ms vs {floor_cpu:.2f} ms "
         f"({early_cpu / floor_cpu if floor_cpu else 0:.2f}×)", "≤ 1.5×",
         bool(floor_cpu) and early_cpu <= 1.5 * floor_cpu),
    ]  # fmt: skip
    # What the crowd costs the server at these prices, and so the least time it can take on
    # this machine's cores, however well it is scheduled (the load generator's CPU not counted).
    cores = os.cpu_count() or 1
    sale_cpu = remote["sale"][0]
    crowd = (100 * sale_cpu + 900 * early_cpu) / 1000
    bound = (
        f"1,000 buyers for 100 units cost the server ≈ {crowd:.1f} s of CPU (100 sales × {sale_cpu:.0f} ms + "
        f"900 early refusals × {early_cpu:.1f} ms): at least {crowd / cores:.1f} s on {cores} cores; the 100 "
        f"sales alone at least {100 * sale_cpu / 1000 / cores:.1f} s."
    )
    lines = [
        common.machine_table(info),
        "",
        f"Load average at start {load_start}, at end {load_end}. {args.requests} requests per floor/refusal "
        f"measure, {args.sales} sales; over HTTP 8 in flight at once (sales 2).",
        "",
        bound,
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {'met' if ok else 'missed'} |" for a, b, c, ok in rows],
        "",
        "In-process, whole middleware stack (test Client), per request:",
        "",
        "| request | SQL queries | CPU ms |",
        "|---|---|---|",
        *[f"| {kind} | {q:.1f} | {cpu:.2f} |" for kind, (q, cpu) in local.items()],
        "",
        "Over HTTP, gunicorn (production profile), per request:",
        "",
        "| request | server CPU ms | client CPU ms | requests/s | unexpected answers |",
        "|---|---|---|---|---|",
        *[f"| {kind} | {s:.2f} | {c:.2f} | {r:.0f} | {b} |" for kind, (s, c, r, b) in remote.items()],
        "",
        f"Reproduce: `{common.command_line()}`",
    ]
    body = "\n".join(lines)
    print()
    print(body)
    if not args.no_report:
        common.write_section(HEADING, body)
        progress(f"wrote the {HEADING} section of {common.REPORT_PATH}")


if __name__ == "__main__":
    sys.exit(main())
