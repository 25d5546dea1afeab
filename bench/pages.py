"""Member pages in process: queries, renders/s and latency of each page, cold and warm cache (issue #15, P3/P8).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench_pages REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python -m bench.pages [--renders 60] [--quick] [--profile PAGE] [--no-report]

Renders each member page (home, catalog, product, my points, orders, check-in, tasks, lottery)
through Django's test client as the demo member alice@example.com (Gold, orders, history, tasks,
a running lottery: ``seed_demo``, run first when the demo data is missing — about two minutes),
one after the other in this process, with the production settings' DEBUG=False. "cold": the cache
is emptied before every render (every shared fragment rebuilt: the cost without docs/decisions/0048's
caching, but with its single ledger read); "warm": what members get between catalog writes. A 404
page measured the same way is the framework floor. The figures over HTTP under gunicorn at 8
concurrent (the issue's P3/P8 targets) come from ``bench/web.py``; the in-process ones here show
where the time goes. It refuses any database not named ``pm_bench*``, never fails on a timing, and
rewrites the ``## Member pages in process`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

from bench import common
from bench.common import percentile, progress

HEADING = "Member pages in process"
MEMBER = "alice@example.com"
QUERY_LIMIT = 5  # P3: catalog and home, whatever the page size
P50_LIMIT_MS = 50.0  # P8 (over HTTP at 8 concurrent; here one at a time, in process)
P99_LIMIT_MS = 200.0
RATIO_LIMIT = 0.35  # P3: catalog and home vs the trivial view's requests/s
QUERY_LIMITED = {"home", "catalog"}


def _load() -> str:
    try:
        return "/".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _pages() -> dict[str, str]:
    from django.urls import reverse

    from catalog.models import Product

    product = Product.objects.filter(on_shelf=True).order_by("-sold", "pk").first()
    return {
        "404 (floor)": "/bench-no-such-page/",
        "home": reverse("home"),
        "catalog": reverse("product_list"),
        "product": reverse("product_detail", args=[product.pk]),
        "my points": reverse("my_points"),
        "orders": reverse("order_list"),
        "check-in": reverse("checkin"),
        "tasks": reverse("task_list"),
        "lottery": reverse("lottery"),
    }


def _client():
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user = User.objects.filter(email=MEMBER).first()
    if user is None:
        progress("no demo data: seed_demo (about two minutes) …")
        call_command("seed_demo", stdout=io.StringIO())
        user = User.objects.get(email=MEMBER)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured.captured_queries)


def _measure(client, url: str, renders: int, *, cold: bool) -> dict[str, float]:
    from django.core.cache import cache

    expected = 404 if "no-such" in url else 200
    response = client.get(url)
    if response.status_code != expected:
        raise SystemExit(f"{url} answered {response.status_code}, expected {expected}")
    if cold:
        cache.clear()
    queries = _queries(client, url)
    times = []
    for _ in range(renders):
        if cold:
            cache.clear()
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    return {
        "queries": queries,
        "rate": len(times) / sum(times),
        "p50": percentile(times, 0.5) * 1000,
        "p99": percentile(times, 0.99) * 1000,
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def report(results: dict[str, dict[str, dict]], renders: int, load: tuple[str, str]) -> str:
    floor = results["404 (floor)"]["warm"]["rate"]
    lines = [
        common.machine_table(common.machine()),
        "",
        f"Load average at start / end: {load[0]} / {load[1]}. {renders} renders per page and mode, one at a time,",
        "as the demo's Gold member in Chinese. Command: `" + common.command_line() + "`.",
        "In process and sequential: indicative only; P3/P8 are judged over HTTP (`bench/web.py`).",
        "",
        "| page | queries cold → warm (limit) | renders/s cold → warm | × 404 warm (limit) "
        "| p50 warm ms (limit) | p99 warm ms (limit) |",
        "|---|---|---|---|---|---|",
    ]
    for page, modes in results.items():
        cold, warm = modes["cold"], modes["warm"]
        if page in QUERY_LIMITED:
            queries = (
                f"{cold['queries']} → {warm['queries']} (≤ {QUERY_LIMIT}: {_verdict(warm['queries'] <= QUERY_LIMIT)})"
            )
            ratio_value = warm["rate"] / floor
            ratio = f"{ratio_value:.2f} (≥ {RATIO_LIMIT}: {_verdict(ratio_value >= RATIO_LIMIT)})"
        else:
            queries = f"{cold['queries']} → {warm['queries']}"
            ratio = f"{warm['rate'] / floor:.2f}"
        p50 = f"{warm['p50']:.1f} (≤ {P50_LIMIT_MS:.0f}: {_verdict(warm['p50'] <= P50_LIMIT_MS)})"
        p99 = f"{warm['p99']:.1f} (≤ {P99_LIMIT_MS:.0f}: {_verdict(warm['p99'] <= P99_LIMIT_MS)})"
        lines.append(f"| {page} | {queries} | {cold['rate']:.0f} → {warm['rate']:.0f} | {ratio} | {p50} | {p99} |")
    return "\n".join(lines)


def _profile(client, url: str, renders: int) -> None:
    client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(renders):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=60, help="renders per page and mode (default 60)")
    parser.add_argument("--quick", action="store_true", help="15 renders per page and mode")
    parser.add_argument("--profile", metavar="PAGE", help="cProfile the warm renders of one page and stop")
    parser.add_argument("--no-report", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    renders = 15 if args.quick else args.renders
    if not 1 <= renders <= 10_000:
        parser.error("--renders must be 1..10000")

    common.setup()
    load_start = _load()
    client = _client()
    pages = _pages()
    if args.profile:
        if args.profile not in pages:
            parser.error(f"--profile takes one of: {', '.join(pages)}")
        _profile(client, pages[args.profile], renders)
        return
    results: dict[str, dict[str, dict]] = {}
    for page, url in pages.items():
        results[page] = {
            "cold": _measure(client, url, renders, cold=True),
            "warm": _measure(client, url, renders, cold=False),
        }
        warm = results[page]["warm"]
        progress(f"{page:12} {warm['queries']:3} queries warm, {warm['rate']:6.0f}/s, p50 {warm['p50']:.1f} ms")
    text = report(results, renders, (load_start, _load()))
    print(text)
    if not args.no_report:
        common.write_section(HEADING, text)
        progress(f"wrote the '{HEADING}' section of {common.REPORT_PATH}")


if __name__ == "__main__":
    main()
