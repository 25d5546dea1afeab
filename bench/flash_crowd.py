"""A flash sale under a crowd (issue #18): N signed-in buyers for S units of one flash item, within a second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench_flash REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python -m bench.flash_crowd [--buyers 1000] [--stock 100]

TRUNCATES users, the ledger and the catalog (Postgres named ``pm_bench*`` only). Production profile
(``bench.http_load``: ``gunicorn -c gunicorn.conf.py``, DJANGO_DEBUG=0, collected static files, the
project's workers and threads). Each buyer is a browser session (session cookie + CSRF token,
minted in-process like a sign-in writes it) holding the confirmation page's signed totals; all N
POST the redeem form at once (one asyncio task each, no client-side limit), so they arrive within
the first second. A buyer told "busy" (503) waits its Retry-After and sends the same form again
(the same idempotency key), as the busy page invites; its time runs from its first POST.

Two sales, one command, each on a fresh item: a plain one, and one with a worker restart forced in
the middle of the burst, 0.3 s in: by default SIGTERM to one worker (what ``max_requests`` does,
one worker at a time: it finishes what it accepted and the master starts another), or with
``--restart hup`` SIGHUP to the master (every worker replaced at once: a deploy's reload).
The buyers use a lean keep-alive HTTP/1.1 client (``RawBrowser``), not httpx, so the load
generator does not eat the cores the server needs; its CPU and the server's are reported.
Checks: exactly S orders, 0 resets, 0 timeouts, every buyer answered ("sold out" or an order),
p99 to "sold out" ≤ 1 s, p99 to an order ≤ 3 s, ``points_verify`` clean. Rewrites the
``## Flash sale under a crowd (issue #18)`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import shutil
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench import common, http_load
from bench.common import percentile, progress
from bench.http_load import Member, Session

HEADING = "Flash sale under a crowd (issue #18)"
PIN = "582916"
RETRIES = 10  # a buyer gives up after this many "busy" answers (counted as not answered)
DEADLINE_SECONDS = 120.0
TRANSPORT_ERRORS = ("reset", "timeout", "refused", "protocol")


@dataclass
class Answer:
    """What the raw client read: the status, the headers (lower-case names) and the body."""

    status_code: int
    headers: dict[str, str]
    text: str


class RawBrowser:
    """A lean HTTP/1.1 client for the crowd: one connection per request, bytes written by hand.

    httpx costs the load generator ~4 ms of CPU per request (bench.flash_profile): for 1,000 buyers
    that is seconds of the same 2 cores the server needs, and the benchmark then measures its own
    client. This one parses only what the buyer reads (status, Retry-After, Location, the body).
    Same headers as ``bench.http_load.Browser`` (forwarded HTTPS, the member's address and cookies),
    plus ``Connection: close``, as the reverse proxy in front of gunicorn sends by default (nginx
    speaks HTTP/1.0 to an upstream): no idle kept-alive connection holds one of a worker's
    ``worker_connections`` while its buyer waits out a Retry-After.
    """

    def __init__(self, port: int, *, timeout: float):
        self.port = port
        self.timeout = timeout
        self.origin = f"https://127.0.0.1:{port}"

    def _bytes(self, session: Session, path: str, data: dict[str, str]) -> bytes:
        body = urlencode({"csrfmiddlewaretoken": session.csrf, **data}).encode()
        cookies = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nConnection: close\r\n"
            f"X-Forwarded-Proto: https\r\nX-Forwarded-For: {session.forwarded_for}\r\n"
            f"Origin: {self.origin}\r\nReferer: {self.origin}/\r\nAccept-Language: zh-hans\r\nCookie: {cookies}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def _exchange(self, payload: bytes) -> Answer:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(payload)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:
                body = await reader.read()  # Connection: close ends the body
            return Answer(status, headers, body.decode("utf-8", "replace"))
        finally:
            writer.close()

    async def send(self, session: Session, path: str, data: dict[str, str]) -> Answer | str:
        """The answer, or the transport error's kind ("reset", "timeout", "refused", "protocol")."""
        try:
            return await asyncio.wait_for(self._exchange(self._bytes(session, path, data)), self.timeout)
        except TimeoutError:
            return "timeout"
        except ConnectionRefusedError:
            return "refused"
        except (ConnectionError, asyncio.IncompleteReadError):
            return "reset"  # the server closed or reset the connection before the whole answer came
        except (ValueError, IndexError, asyncio.LimitOverrunError):
            return "protocol"


@dataclass
class Outcome:
    kind: str  # "order", "sold_out", another refusal code, or a transport error kind ("reset", "timeout", …)
    seconds: float  # from the buyer's first POST to the final answer
    busy: int  # 503 answers received first


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: the config's)")
    parser.add_argument("--slots", type=int, default=None, help="ADMISSION_REDEEM_SLOTS (default: the settings')")
    parser.add_argument(
        "--restart",
        choices=["term", "hup"],
        default="term",
        help="the mid-burst restart: SIGTERM to one worker (what max_requests does; default) or SIGHUP to the master",
    )
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    return parser.parse_args(argv)


def build(buyers: int) -> list[Member]:
    """``buyers`` members with 50–2,500 points each (set-based ledger data) and a payment PIN."""
    from django.core.cache import cache
    from django.utils import timezone

    from accounts.models import PaymentPin
    from accounts.pin_hash import pin_hash_make
    from bench import integration
    from bench.ledger_data import LedgerShape, build_ledger
    from bench.web import truncate_catalog

    integration.truncate()
    truncate_catalog()
    cache.clear()
    # Five lots (at least 50 points): every buyer can pay for a unit in each of the runs (warm-up,
    # plain, restart; 10 points each), so "exactly 100 orders" never hangs on a buyer short of points.
    build_ledger(LedgerShape(accounts=buyers, lots_per_account=5, due_per_account=0), timezone.now(), step=progress)
    PaymentPin.objects.bulk_create(
        [PaymentPin(user_id=pk, pin_hash=pin_hash_make(user_id=pk, pin=PIN)) for pk in range(1, buyers + 1)]
    )
    return [Member(pk, f"bench-{pk}@bench.invalid", "") for pk in range(1, buyers + 1)]


def flash_item(stock: int, n: int) -> int:
    """A flash-sale code item (virtual) with ``stock`` codes imported: the code pool is raced for too."""
    from catalog import services
    from catalog.enums import ProductKind
    from catalog.models import Category, Product

    category, _ = Category.objects.get_or_create(slug="flash", defaults={"name_zh": "限时", "name_en": "Flash"})
    product = Product.objects.create(
        name_zh=f"限时兑换 {n}", name_en=f"Flash item {n}", category=category, kind=ProductKind.VIRTUAL,
        points_price=10, stock=0, per_order_limit=1, flash_sale=True, low_stock_threshold=0,
    )  # fmt: skip
    services.codes_import(product_id=product.pk, text="\n".join(f"F{n}-{i:05d}" for i in range(stock)), actor_id=None)
    return product.pk


def confirmations(members: list[Member], product_id: int) -> list[str]:
    """The signed totals each buyer's confirmation page carries (computed in-process, same secret key)."""
    from catalog import services

    tokens = []
    for member in members:
        quote = services.redemption_quote(user_id=member.user_id, product_id=product_id, quantity=1)
        tokens.append(
            services.redemption_confirmation_sign(
                user_id=member.user_id, product_id=product_id, quantity=1, totals=quote.totals
            )
        )
    return tokens


async def buyer(browser: RawBrowser, session: Session, product_id: int, token: str) -> Outcome:
    data = {"quantity": "1", "pin": PIN, "idempotency_key": secrets.token_hex(16), "confirmation": token}
    path = f"/mall/products/{product_id}/redeem/"
    started = time.monotonic()
    busy = 0
    while True:
        answer = await browser.send(session, path, data)
        if isinstance(answer, str):
            return Outcome(answer, time.monotonic() - started, busy)
        if answer.status_code == 503 and busy < RETRIES:
            busy += 1
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
            continue
        seconds = time.monotonic() - started
        if answer.status_code == 302 and "/mall/orders/" in answer.headers.get("location", ""):
            return Outcome("order", seconds, busy)
        marker = 'data-code="'
        if answer.status_code == 200 and marker in answer.text:
            return Outcome(answer.text.split(marker, 1)[1].split('"', 1)[0], seconds, busy)
        return Outcome(f"http {answer.status_code}", seconds, busy)


def workers_of(master: int) -> list[int]:
    """The gunicorn workers (children of ``master``), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def server_cpu(master: int) -> dict[int, float]:
    """CPU seconds so far of the master and each worker (pid → seconds)."""
    return {pid: common.process_cpu_seconds(pid) or 0.0 for pid in [master, *workers_of(master)]}


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def sale(server, sessions: list[Session], product_id: int, tokens: list[str], *, restart: str):
    """Every buyer at once; ``restart``: "" (none), "term" (SIGTERM to one worker 0.3 s in, what
    ``max_requests`` does to one worker) or "hup" (SIGHUP to the master: every worker replaced)."""
    browser = RawBrowser(server.port, timeout=http_load.REQUEST_TIMEOUT)

    async def recycle() -> None:
        await asyncio.sleep(0.3)
        if restart == "hup":
            server.process.send_signal(signal.SIGHUP)  # the master we started: replace every worker gracefully
            progress("SIGHUP sent to the gunicorn master mid-burst")
        else:
            victim = workers_of(server.process.pid)[0]  # a worker of the server we started
            os.kill(victim, signal.SIGTERM)  # graceful: it finishes what it accepted, the master starts another
            progress(f"SIGTERM sent to gunicorn worker {victim} mid-burst")

    jobs = [buyer(browser, s, product_id, t) for s, t in zip(sessions, tokens, strict=True)]
    extra = [recycle()] if restart else []
    outcomes = await asyncio.wait_for(asyncio.gather(*jobs, *extra), DEADLINE_SECONDS)
    return [o for o in outcomes if isinstance(o, Outcome)]


def orders_of(product_id: int) -> int:
    from catalog.models import Order

    return Order.objects.filter(product_id=product_id).count()


def judge(name: str, outcomes: list[Outcome], stock: int, product_id: int, cpu: tuple[float, float]):
    kinds: dict[str, int] = {}
    for o in outcomes:
        kinds[o.kind] = kinds.get(o.kind, 0) + 1
    sold_out = [o.seconds for o in outcomes if o.kind == "sold_out"]
    ordered = [o.seconds for o in outcomes if o.kind == "order"]
    orders = orders_of(product_id)
    # Answered: an order, or a page that says why not ("sold out", or the member's own reason).
    answered = sum(n for k, n in kinds.items() if k not in TRANSPORT_ERRORS and not k.startswith("http "))
    rows = [
        (f"{name}: orders", f"{orders} ({kinds.get('order', 0)} answered as orders)", f"= {stock}", orders == stock),
        (f"{name}: resets", str(kinds.get("reset", 0)), "0", kinds.get("reset", 0) == 0),
        (f"{name}: timeouts", str(kinds.get("timeout", 0)), "0", kinds.get("timeout", 0) == 0),
        (f"{name}: buyers answered", f"{answered} / {len(outcomes)}", "all", answered == len(outcomes)),
        (f"{name}: p99 to sold out", f"{percentile(sold_out, 0.99):.3f} s", "≤ 1 s", percentile(sold_out, 0.99) <= 1),
        (f"{name}: p99 to an order", f"{percentile(ordered, 0.99):.3f} s", "≤ 3 s", percentile(ordered, 0.99) <= 3),
    ]
    busy = sum(o.busy for o in outcomes)
    detail = (
        f"{name}: answers {dict(sorted(kinds.items()))}; 503 busy answers {busy}; "
        f"p50 sold out {percentile(sold_out, 0.5):.3f} s, p50 order {percentile(ordered, 0.5):.3f} s; "
        f"CPU: server {cpu[0]:.1f} s, load generator {cpu[1]:.1f} s"
    )
    return rows, detail


def render(info, args, rows, details, load) -> str:
    lines = [
        common.machine_table(info),
        "",
        f"Load average at start {load[0]}, at end {load[1]}. Buyers {args.buyers}, stock {args.stock}, "
        f"gunicorn workers × threads: {args.workers or 'the config default'} × {args.threads or 'the config default'}, "
        f"admission places: {args.slots or 'the settings default'}.",
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {'met' if ok else 'missed'} |" for a, b, c, ok in rows]
    lines += ["", *[f"- {d}" for d in details], "", f"Reproduce: `{common.command_line()}`"]
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    common.setup()
    from bench import integration
    from points import services as points_services

    integration.quiet_celery()
    info = common.machine()
    load_start = os.getloadavg()
    progress(f"flash crowd on {info['cpu']} ×{info['cores']}, load {load_start}")
    members = build(args.buyers)
    env = http_load.server_env()
    static_root = http_load.collect_static(env)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the checks read the database between sales
    rows, details = [], []
    try:
        if args.slots:
            env["ADMISSION_REDEEM_SLOTS"] = str(args.slots)
        with http_load.running_server(env, workers=args.workers, threads=args.threads) as server:
            sessions = http_load.sessions_mint(server.base, members)
            # Warm the workers first (imports, templates, connections), as a server in service is:
            # a small sale of its own on another item, not measured.
            warm = min(len(members), 60)
            warm_item = flash_item(5, 9)
            asyncio.run(sale(server, sessions[:warm], warm_item, confirmations(members[:warm], warm_item), restart=""))
            progress(f"warmed up: {warm} buyers for 5 units")
            restart_name = {"term": "SIGTERM to one worker", "hup": "SIGHUP to the master"}[args.restart]
            for n, (name, restart) in enumerate([("plain", ""), (f"worker restart ({restart_name})", args.restart)]):
                product_id = flash_item(args.stock, n)
                tokens = confirmations(members, product_id)
                progress(f"{name}: {args.buyers} buyers for {args.stock} units of product {product_id}")
                server_before, client_before = server_cpu(server.process.pid), client_cpu()
                outcomes = asyncio.run(sale(server, sessions, product_id, tokens, restart=restart))
                server_after = server_cpu(server.process.pid)
                # A worker that stopped meanwhile is gone from /proc: its share is not counted.
                spent = sum(seconds - server_before.get(pid, 0.0) for pid, seconds in server_after.items())
                got, detail = judge(name, outcomes, args.stock, product_id, (spent, client_cpu() - client_before))
                rows += got
                details.append(detail)
                progress(detail)
                time.sleep(3)  # the restarted workers settle before the next sale
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    report = points_services.points_verify()
    rows.append(("points_verify", "clean" if report.ok else str(report), "clean", report.ok))
    body = render(info, args, rows, details, (load_start, os.getloadavg()))
    print()
    print(body)
    if not args.no_report:
        common.write_section(HEADING, body)
        progress(f"wrote the {HEADING} section of {common.REPORT_PATH}")


if __name__ == "__main__":
    sys.exit(main())
