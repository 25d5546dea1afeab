"""Host integration benchmark (issue #13): the signed host API, exactly-once purchases, webhooks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench_integration REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python -m bench.integration [--quick]

It TRUNCATES the user, ledger and integration tables, so it refuses any database that is not
Postgres named ``pm_bench*``. Every request is signed as a host signs it
(``pointsmall.integration.signing``, as tests/integration/host.py does) and goes through the
whole middleware stack: in-process with Django's test client, then over HTTP against a
``gunicorn pointsmall.wsgi`` it starts itself (DJANGO_DEBUG=0, two workers, stopped by its PID
at the end) with a pool of 8 threads using ``requests``. It prints figures as it goes and
rewrites the ``## Host integration`` section of docs/benchmarks.md. It never fails on a timing;
it exits non-zero only when a correctness check fails (a request answers another status than
expected, a purchase sent 16 times at once earns more or less than once, a webhook is received
other than exactly once).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import common
from bench.common import percentile, progress, timed

HEADING = "Host integration"
EXAMPLE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pm_bench_integration"
EXAMPLE_REDIS_URL = "redis://127.0.0.1:6379/2"
ROOT = Path(__file__).resolve().parent.parent
HTTP_THREADS = 8
GUNICORN_WORKERS = 2
GUNICORN_START_SECONDS = 60
RACE_THREADS = 16
ENTRIES_HISTORY = 500
WEBHOOK_ENDPOINTS = 3
# This report's budgets (the issue sets none): p95 of one request in-process on an idle
# machine, and what a page of history may cost whatever the member's history.
READ_P95_LIMIT = 0.050
WRITE_P95_LIMIT = 0.150
PURCHASE_ITEMS = [
    {"sku": "TEA-01", "category": "tea", "amount": "100.00"},
    {"sku": "CUP-01", "category": "cups", "amount": "28.00"},
]


# --- Data -------------------------------------------------------------------------------


def truncate() -> None:
    """Empty users, the ledger, holds, purchases and every integration table (CASCADE)."""
    from django.db import connection

    from bench.engagement import truncate as truncate_engagement
    from points.models import Hold, Purchase
    from pointsmall.integration.models import (
        Client,
        ClientSecret,
        HostMember,
        IdempotencyRecord,
        UsedNonce,
        WebhookDelivery,
        WebhookEndpoint,
    )

    truncate_engagement()
    models = [
        WebhookDelivery,
        WebhookEndpoint,
        IdempotencyRecord,
        UsedNonce,
        HostMember,
        ClientSecret,
        Client,
        Hold,
        Purchase,
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)} RESTART IDENTITY CASCADE")


def quiet_celery() -> None:
    """After-commit Celery nudges (webhook sends, notifications) go to an in-memory broker nobody
    reads: the webhook deliveries stay pending for the sending benchmark, Redis gets no tasks."""
    from pointsmall.celery import app

    app.conf.task_always_eager = False
    common.celery_broker_set("memory://")


@dataclass
class Host:
    """One integration client: its key id and secret, as the host holds them."""

    key_id: str
    secret: str
    client_id: int

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        from pointsmall.integration import signing

        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = signing.request_string(
            method=method, path=signing.canonical_path(path), timestamp=timestamp, nonce=nonce, body=body
        )
        return {
            "X-Mall-Key": self.key_id,
            "X-Mall-Timestamp": timestamp,
            "X-Mall-Nonce": nonce,
            "X-Mall-Signature": signing.sign(self.secret, message),
        }


def make_host(name: str) -> Host:
    from pointsmall.integration import services

    client, secret = services.client_create(name=name)
    return Host(client.key_id, secret, client.pk)


def link_member(host: Host, external_id: str) -> int:
    """A new member known to ``host`` as ``external_id`` (as PUT /members makes one); its user id."""
    from pointsmall.integration import services

    user_id, _created = services.host_member_put(
        client_id=host.client_id, external_id=external_id, fields={"display_name": external_id}
    )
    return user_id


def give_points(user_id: int, points: int, key: str) -> None:
    from points.services import points_earn

    points_earn(user_id=user_id, amount=points, idempotency_key=key)


# --- Requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # under /api/v1
    payload: Any = None
    expect: int = 200

    @property
    def full_path(self) -> str:
        return "/api/v1" + self.path

    @property
    def body(self) -> bytes:
        return b"" if self.payload is None else json.dumps(self.payload).encode()


@dataclass
class Answer:
    status: int
    body: bytes
    replayed: bool


def send_in_process(host: Host, client, call: Call) -> Answer:
    body = call.body
    response = client.generic(
        call.method,
        call.full_path,
        data=body,
        content_type="application/json",
        headers=host.headers(call.method, call.full_path, body),
    )
    return Answer(response.status_code, response.content, response.get("Idempotent-Replayed") == "true")


@dataclass
class Scenario:
    """One row of the request tables: a label and the calls to time, in order."""

    label: str
    calls: list[Call]
    read: bool
    # Rows whose calls depend on an earlier answer (a hold's id) build them as they go.
    follow: Callable[[Answer], Call] | None = None


def scenarios(host: Host, tag: str, n: int, fixtures: dict[str, Any]) -> list[Scenario]:
    """The request mix, with ids unique to ``tag`` (one per run: in-process or over HTTP)."""
    buyers = fixtures["buyers"]
    orders = [f"{tag}-SO-{i}" for i in range(n)]

    def purchase(i: int) -> Call:
        return Call(
            "POST",
            "/purchases",
            {
                "external_order_id": orders[i],
                "member": buyers[i % len(buyers)],
                "amount": "128.00",
                "items": PURCHASE_ITEMS,
            },
            expect=201,
        )

    def capture(answer: Answer) -> Call:
        return Call("POST", f"/holds/{json.loads(answer.body)['id']}/capture")

    holder = fixtures["holder"]
    return [
        Scenario("`GET /ping`", [Call("GET", "/ping")] * n, read=True),
        Scenario(
            "`PUT /members/{id}` (create)",
            [
                Call("PUT", f"/members/{tag}-new-{i}", {"email": f"{tag}-new-{i}@bench.invalid"}, expect=201)
                for i in range(n)
            ],
            read=False,
        ),
        Scenario("`POST /purchases` (new order, 2 items)", [purchase(i) for i in range(n)], read=False),
        Scenario("`POST /purchases` (the same again: replayed)", [purchase(i) for i in range(n)], read=False),
        Scenario(
            "`POST /purchases/{id}/refunds` (part, by amount)",
            [
                Call(
                    "POST",
                    f"/purchases/{orders[i]}/refunds",
                    {"refund_id": f"{tag}-RF-{i}", "amount": "28.00"},
                    expect=201,
                )
                for i in range(n)
            ],
            read=False,
        ),
        Scenario(
            "`POST /members/{id}/holds` + `POST /holds/{id}/capture`",
            [
                Call("POST", f"/members/{holder}/holds", {"host_order_id": f"{tag}-HO-{i}", "points": 10}, expect=201)
                for i in range(n)
            ],
            read=False,
            follow=capture,
        ),
        Scenario("`GET /members/{id}/balance`", [Call("GET", f"/members/{holder}/balance")] * n, read=True),
        Scenario(
            f"`GET /members/{{id}}/entries` (page of 50 of {ENTRIES_HISTORY})",
            [Call("GET", f"/members/{fixtures['historian']}/entries?page=2&page_size=50")] * n,
            read=True,
        ),
    ]


@dataclass
class Row:
    label: str
    read: bool
    requests: int
    seconds: float
    latencies: list[float]
    statuses: Counter
    expected: Counter
    queries: int | None = None
    replayed: int = 0

    @property
    def ok(self) -> bool:
        return self.statuses == self.expected

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _one(send: Callable[[Call], Answer], scenario: Scenario, call: Call) -> tuple[float, list[Answer]]:
    """Send one call (and its follow-up); seconds for both and the answers."""
    start = time.perf_counter()
    answer = send(call)
    answers = [answer]
    if scenario.follow is not None and answer.status == call.expect:
        answers.append(send(scenario.follow(answer)))
    return time.perf_counter() - start, answers


def _expected(scenario: Scenario) -> Counter:
    expected = Counter(call.expect for call in scenario.calls)
    if scenario.follow is not None:
        expected[200] += len(scenario.calls)
    return expected


@contextlib.contextmanager
def counting_statements() -> Iterator[list[int]]:
    """Counts the SQL statements this thread's connection runs in the block. Not Django's
    CaptureQueriesContext: every request clears the query log it reads (request_started)."""
    from django.db import connection

    count = [0]

    def wrapper(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def run_in_process(host: Host, scenario_list: list[Scenario]) -> list[Row]:
    """Each row's calls one after another on one connection, after one warm-up call (counted in
    the statuses, timed apart) whose SQL statements are captured."""
    from django.test import Client as DjangoClient

    client = DjangoClient()

    def send(call: Call) -> Answer:
        return send_in_process(host, client, call)

    rows = []
    for scenario in scenario_list:
        first, *rest = scenario.calls
        with counting_statements() as statements:
            _seconds, answers = _one(send, scenario, first)
        statuses = Counter(answer.status for answer in answers)
        latencies = []
        replayed = sum(answer.replayed for answer in answers)
        with timed() as elapsed:
            for call in rest:
                seconds, answers = _one(send, scenario, call)
                latencies.append(seconds)
                statuses.update(answer.status for answer in answers)
                replayed += sum(answer.replayed for answer in answers)
        row = Row(
            scenario.label,
            scenario.read,
            len(rest),
            elapsed[0],
            latencies,
            statuses,
            _expected(scenario),
            statements[0],
            replayed,
        )
        rows.append(row)
        progress(
            f"in-process {scenario.label}: {row.per_second:,.0f}/s, p50 {_ms(percentile(latencies, 0.5))}, "
            f"p95 {_ms(percentile(latencies, 0.95))}, {row.queries} SQL, statuses {dict(statuses)}"
        )
    return rows


# --- Over HTTP (gunicorn) ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def gunicorn_start(host: Host, *, workers: int = GUNICORN_WORKERS, env: dict[str, str] | None = None) -> Gunicorn:
    """``gunicorn pointsmall.wsgi`` with the production settings (DJANGO_DEBUG=0) on a free port,
    the repository's gunicorn.conf.py (read from the working directory) with ``workers`` workers;
    waits until it answers a signed ping (at most GUNICORN_START_SECONDS). ``env``: the server's
    whole environment instead of this process's (bench.chaos gives its own database and Redis);
    the bind, the secret key and DJANGO_DEBUG=0 are set either way."""
    import requests

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    env = {
        **(env if env is not None else os.environ),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECRET_KEY": (env or {}).get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        # The clients' secrets are stored encrypted, members' PINs hashed: the same keys as this process's.
        **common.shared_secrets_env(),
        "DATABASE_URL": (env or os.environ)["DATABASE_URL"],
        "REDIS_URL": (env or os.environ).get("REDIS_URL", ""),
        # WhiteNoise warns that collectstatic never ran: the API serves no static files.
        "PYTHONWARNINGS": "ignore:No directory at",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "pointsmall.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (fixed arguments, no outside input)
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Gunicorn(process, port, log)
    deadline = time.monotonic() + GUNICORN_START_SECONDS
    call = Call("GET", "/ping")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn stopped at start (exit {process.returncode}); its log: {log}")
        with contextlib.suppress(requests.RequestException):
            answer = send_http(server, host, requests, call)
            if answer.status == 200:
                progress(f"gunicorn {process.pid} answers on port {port} (log {log})")
                return server
        time.sleep(0.25)
    gunicorn_stop(server)
    raise SystemExit(f"gunicorn did not answer a signed ping within {GUNICORN_START_SECONDS} s; its log: {log}")


def gunicorn_stop(server: Gunicorn) -> None:
    """SIGTERM to the master (by its PID), then SIGKILL to its process group if it lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
    progress(f"gunicorn {server.process.pid} stopped (exit {server.process.returncode})")


def send_http(server: Gunicorn, host: Host, session, call: Call) -> Answer:
    body = call.body
    headers = {
        **host.headers(call.method, call.full_path, body),
        "Content-Type": "application/json",
        # TLS ends at the reverse proxy in production (SECURE_PROXY_SSL_HEADER); without this
        # DJANGO_DEBUG=0 redirects to https.
        "X-Forwarded-Proto": "https",
    }
    response = session.request(
        call.method, server.base + call.full_path, data=body, headers=headers, timeout=30, allow_redirects=False
    )
    return Answer(response.status_code, response.content, response.headers.get("Idempotent-Replayed") == "true")


def run_http(server: Gunicorn, host: Host, scenario_list: list[Scenario]) -> list[Row]:
    """Each row's calls spread over HTTP_THREADS threads (a keep-alive session each)."""
    import requests

    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.trust_env = False
        return local.session

    rows = []
    with ThreadPoolExecutor(HTTP_THREADS) as pool:
        for scenario in scenario_list:

            def one(call: Call, scenario: Scenario = scenario) -> tuple[float, list[Answer]]:
                return _one(lambda c: send_http(server, host, session(), c), scenario, call)

            with timed() as elapsed:
                results = list(pool.map(one, scenario.calls))
            statuses = Counter(answer.status for _s, answers in results for answer in answers)
            replayed = sum(answer.replayed for _s, answers in results for answer in answers)
            latencies = [seconds for seconds, _answers in results]
            row = Row(
                scenario.label,
                scenario.read,
                len(scenario.calls),
                elapsed[0],
                latencies,
                statuses,
                _expected(scenario),
                replayed=replayed,
            )
            rows.append(row)
            progress(
                f"HTTP {scenario.label}: {row.per_second:,.0f}/s, p50 {_ms(percentile(latencies, 0.5))}, "
                f"p95 {_ms(percentile(latencies, 0.95))}, statuses {dict(statuses)}"
            )
    return rows


# --- Exactly once under concurrency -----------------------------------------------------


@dataclass
class Race:
    rounds: int
    threads: int
    settle: list[float]
    statuses: Counter
    replayed: int
    earn_entries: list[int]
    purchases: list[int]

    @property
    def ok(self) -> bool:
        return (
            all(n == 1 for n in self.earn_entries)
            and all(n == 1 for n in self.purchases)
            and self.statuses == Counter({201: self.rounds * self.threads})
            and self.replayed == self.rounds * (self.threads - 1)
        )


def race_round(host: Host, call: Call) -> tuple[float, list[Answer]]:
    """RACE_THREADS threads send ``call`` from one start line; seconds until the last answer, and
    the answers."""
    from django.db import connection
    from django.test import Client as DjangoClient

    start_line = threading.Barrier(RACE_THREADS + 1)
    answers: list[Answer] = []
    finished: list[float] = []
    lock = threading.Lock()

    def racer() -> None:
        client = DjangoClient()
        try:
            start_line.wait()
            answer = send_in_process(host, client, call)
            with lock:
                answers.append(answer)
                finished.append(time.perf_counter())
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(RACE_THREADS)]
    for thread in threads:
        thread.start()
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return (max(finished) - started if finished else 0.0), answers


def bench_race(host: Host, rounds: int) -> Race:
    """Each round a new member; RACE_THREADS threads (their own connection each) send the same
    purchase at the same instant; settle = from the start line to the last answer."""
    from points.enums import EarningSource
    from points.models import Entry, Purchase

    members = [f"race-{r}" for r in range(rounds)]
    for member in members:
        link_member(host, member)
    result = Race(rounds, RACE_THREADS, [], Counter(), 0, [], [])
    for r, member in enumerate(members):
        order = f"RACE-{r}"
        call = Call(
            "POST",
            "/purchases",
            {"external_order_id": order, "member": member, "amount": "128.00", "items": PURCHASE_ITEMS},
            expect=201,
        )
        settle, answers = race_round(host, call)
        result.settle.append(settle)
        result.statuses.update(answer.status for answer in answers)
        result.replayed += sum(answer.replayed for answer in answers)
        result.earn_entries.append(
            Entry.objects.filter(reference=f"shop.order:{order}", kind="earn", source=EarningSource.PURCHASE).count()
        )
        result.purchases.append(Purchase.objects.filter(external_id=order).count())
    progress(
        f"race: {rounds} rounds × {RACE_THREADS} threads, settle p50 {_ms(percentile(result.settle, 0.5))}, "
        f"statuses {dict(result.statuses)}, replayed {result.replayed}, earn entries {Counter(result.earn_entries)}"
    )
    return result


# --- Webhooks ---------------------------------------------------------------------------


class Receiver:
    """A local host's webhook endpoint: answers 204 and counts each (path, event id)."""

    def __init__(self) -> None:
        counts: Counter = Counter()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    counts[(self.path, self.headers.get("X-Mall-Event-Id"))] += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.counts = counts
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class EarnCost:
    endpoints: int
    queries: int
    samples: list[float]


@dataclass
class Webhooks:
    costs: list[EarnCost] = field(default_factory=list)
    due: int = 0
    seconds: float = 0.0
    report: dict[str, int] = field(default_factory=dict)
    again: dict[str, int] = field(default_factory=dict)
    received: int = 0
    distinct: int = 0
    repeats: int = 0
    sent_rows: int = 0

    @property
    def sent(self) -> int:
        return self.report.get("sent", 0)

    @property
    def ok(self) -> bool:
        return (
            self.due == self.sent == self.sent_rows == self.received == self.distinct
            and self.repeats == 0
            and not self.again
        )


def bench_webhooks(calls: int) -> Webhooks:
    """``points_earn`` for a member linked to one client with 0 endpoints and for one whose client
    has 3 subscribed to ``points.earned``, call by call in turn; then send every delivery to a
    local receiver."""
    from django.conf import settings

    from bench.engagement import queries_of
    from points.services import points_earn
    from pointsmall.integration.models import WebhookDelivery, WebhookEndpoint
    from pointsmall.integration.webhooks import webhooks_send_due

    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    result = Webhooks()
    with Receiver() as receiver:
        earners = []
        for count in (0, WEBHOOK_ENDPOINTS):
            host = make_host(f"Hooks {count}")
            WebhookEndpoint.objects.bulk_create(
                [
                    WebhookEndpoint(
                        client_id=host.client_id, url=f"{receiver.url}/hook/{count}/{e}", events=["points.earned"]
                    )
                    for e in range(count)
                ]
            )
            user_id = link_member(host, f"hooked-{count}")

            def earn(n: int, user_id: int = user_id, count: int = count) -> None:
                points_earn(user_id=user_id, amount=10, idempotency_key=f"bench-hook-{count}-{n}")

            earn(-2)  # warm-up
            queries, _ = queries_of(lambda earn=earn: earn(-1))
            earners.append(earn)
            result.costs.append(EarnCost(count, queries, []))
        # Alternately, so that the machine's other work weighs on both set-ups alike.
        for n in range(calls):
            for earn, cost in zip(earners, result.costs, strict=True):
                start = time.perf_counter()
                earn(n)
                cost.samples.append((time.perf_counter() - start) * 1e6)
        for cost in result.costs:
            progress(
                f"points_earn with {cost.endpoints} endpoints: {cost.queries} SQL, "
                f"p50 {percentile(cost.samples, 0.5):,.0f} µs"
            )
        result.due = WebhookDelivery.objects.filter(status="pending").count()
        with timed() as elapsed:
            while batch := webhooks_send_due(limit=500):
                for status, n in batch.items():
                    result.report[status] = result.report.get(status, 0) + n
        result.seconds = elapsed[0]
        result.again = webhooks_send_due(limit=500)
        counts = receiver.counts
        result.received = sum(counts.values())
        result.distinct = len(counts)
        result.repeats = sum(n - 1 for n in counts.values() if n > 1)
    result.sent_rows = WebhookDelivery.objects.filter(status="sent").count()
    progress(
        f"webhooks: {result.report} of {result.due} due in {result.seconds:.2f} s "
        f"({result.sent / result.seconds if result.seconds else 0:,.0f}/s); received {result.received}, "
        f"distinct {result.distinct}; again {result.again}"
    )
    return result


# --- Report -------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


def _check(ok: bool) -> str:
    return "ok" if ok else "**FAILED**"


def _limit(row: Row) -> str:
    limit = READ_P95_LIMIT if row.read else WRITE_P95_LIMIT
    met = percentile(row.latencies, 0.95) <= limit
    return f"{_ms(limit)} {'met' if met else '**missed**'}"


def requests_table(rows: list[Row], *, in_process: bool) -> list[str]:
    head = "| request | requests | requests/s | p50 | p95 |" + (" SQL statements | p95 limit |" if in_process else "")
    rule = "|---|---:|---:|---:|---:|" + ("---:|---|" if in_process else "")
    lines = [head, rule]
    for row in rows:
        line = (
            f"| {row.label} | {row.requests:,} | {row.per_second:,.0f} | {_ms(percentile(row.latencies, 0.5))} | "
            f"{_ms(percentile(row.latencies, 0.95))} |"
        )
        if in_process:
            line += f" {row.queries} | {_limit(row)} |"
        if not row.ok:
            line += f" statuses {dict(row.statuses)}, expected {dict(row.expected)} |"
        lines.append(line)
    return lines


def render(info, args, gunicorn_note, in_process, http, race, hooks, load) -> str:
    base, hooked = hooks.costs
    extra_us = statistics.median(hooked.samples) - statistics.median(base.samples)
    extra_queries = hooked.queries - base.queries
    statuses_ok = all(row.ok for row in in_process + http)
    lines = [
        f"Written by `{common.command_line()}`.",
        "",
        common.machine_table(info),
        "",
        f"Load average (1/5/15 min) at the start {'/'.join(f'{x:.1f}' for x in load[0])}, at the end "
        f"{'/'.join(f'{x:.1f}' for x in load[1])}, on {info['cores']} cores (the machine is shared: other "
        "work runs beside the benchmark). Every request is signed as a host signs it "
        "(`pointsmall.integration.signing`: HMAC-SHA256, a new nonce each, spent in the database), so every "
        "figure includes checking the signature and spending the nonce. Celery's after-commit nudges go to an "
        "in-memory broker nobody reads (their cost is in the figures). The issue sets no figures; the p95 "
        f"limits are this report's budget for one request on an idle machine ({_ms(READ_P95_LIMIT)} for a read, "
        f"{_ms(WRITE_P95_LIMIT)} for a write).",
        "",
        "### Requests, in-process",
        "",
        f"Django's test client through the whole middleware stack (no network, no WSGI server), one request "
        f"after another on one connection, {args.requests:,} per row after one warm-up request whose SQL "
        f"statements are counted. Purchases are of 128.00 yuan in 2 items, spread over "
        f"{args.buyers} members; each refund takes back 28.00 of one of them; each hold (10 points) is "
        f"captured at once (the row's time is the pair's); the history page is page 2 of a member with "
        f"{ENTRIES_HISTORY} entries.",
        "",
        *requests_table(in_process, in_process=True),
        "",
        "### Requests over HTTP (gunicorn)",
        "",
        f"The same mix against `gunicorn pointsmall.wsgi -w {GUNICORN_WORKERS}` started by the benchmark "
        f"({gunicorn_note}), {args.http_requests:,} requests per row sent by {HTTP_THREADS} threads with "
        "`requests` (a keep-alive session each); the latency is each request's own, as the host sees it, so it "
        f"includes waiting for one of the server's {GUNICORN_WORKERS * 2} request slots (no p95 limit here: "
        "it measures the queue as much as the request).",
        "",
        *requests_table(http, in_process=False),
        "",
        f"Every answer had the expected status (201 for the writes, 200 otherwise; replays answered "
        f"`Idempotent-Replayed: true`): {_check(statuses_ok)}.",
        "",
        "### Exactly once under concurrency",
        "",
        f"{race.rounds} rounds; each round {race.threads} threads (a Postgres connection each) send the same "
        f"purchase (a new order of a new member) at the same instant, in-process. Time to settle (start line to "
        f"the last answer): p50 **{_ms(percentile(race.settle, 0.5))}**, p95 {_ms(percentile(race.settle, 0.95))}, "
        f"max {_ms(max(race.settle))}. Answers: {', '.join(f'{n:,} × {s}' for s, n in sorted(race.statuses.items()))}, "
        f"{race.replayed:,} of them replays. Earn entries per order: "
        f"{', '.join(f'{n} × {k}' for k, n in sorted(Counter(race.earn_entries).items()))} (must be exactly 1); "
        f"correctness (one purchase and one earn entry per order, one first answer and "
        f"{race.threads - 1} replays per round): {_check(race.ok)}.",
        "",
        "### Webhooks",
        "",
        f"What the outbox adds to `points_earn` (10 points, a new key each, {args.webhook_calls:,} calls after a "
        f"warm-up) for a member linked to one client, whose client has no endpoint or {WEBHOOK_ENDPOINTS} "
        "subscribed to `points.earned`; the two members' calls alternate, so the machine's other work weighs on "
        "both alike:",
        "",
        "| endpoints | SQL statements per call | p50 | p95 | calls/s |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {c.endpoints} | {c.queries} | {statistics.median(c.samples):,.0f} µs | "
            f"{percentile(c.samples, 0.95):,.0f} µs | {1e6 / statistics.mean(c.samples):,.0f} |"
            for c in hooks.costs
        ),
        "",
        f"So {WEBHOOK_ENDPOINTS} endpoints add {extra_queries} SQL statement{'' if extra_queries == 1 else 's'} "
        f"(the deliveries' one bulk insert) and {extra_us:,.0f} µs to an earn (difference of the medians; under the "
        "machine's noise when it is near zero or below); with no endpoint the member's links and the client's "
        "endpoints are still looked up (two statements of the 0 row). "
        "Limit: a constant number of statements whatever the number of endpoints.",
        "",
        f"Sending: `webhooks_send_due(limit=500)` in-process until nothing is due (as the beat sweep does; "
        f"`WEBHOOK_ALLOW_PRIVATE_HOSTS` on), to a `http.server` receiver on 127.0.0.1 answering 204: "
        f"**{hooks.sent:,} of {hooks.due:,} deliveries in {hooks.seconds:.2f} s, "
        f"{hooks.sent / hooks.seconds if hooks.seconds else 0:,.0f} deliveries/s** (one at a time: each is "
        "claimed, signed, POSTed on a new connection and marked). Running it again: "
        f"{sum(hooks.again.values())} sent. The receiver counted {hooks.received:,} requests, "
        f"{hooks.distinct:,} distinct (endpoint, event id), {hooks.repeats} repeats; correctness (every delivery "
        f"received exactly once, every row marked sent): {_check(hooks.ok)}.",
        "",
        "### Reproduce",
        "",
        "```sh",
        f"DATABASE_URL={EXAMPLE_DATABASE_URL} REDIS_URL={EXAMPLE_REDIS_URL} "
        ".venv/bin/python -m bench.integration [--quick]",
        "```",
        "",
        "Options: `--requests N` (in-process, per row), `--http-requests N`, `--rounds N`, `--webhook-calls N`, "
        "`--no-http` (skip gunicorn), `--no-report`. `gunicorn` is started with the repository's "
        "`gunicorn.conf.py` (read from the working directory) and stopped by its PID at the end; its log is "
        "kept in a temporary file whose path the run prints.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.integration", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under two minutes)")
    parser.add_argument("--requests", type=int, help="in-process requests per row (default 300)")
    parser.add_argument("--http-requests", type=int, help="requests per row over HTTP (default 500)")
    parser.add_argument("--rounds", type=int, help="rounds of the concurrent purchase (default 20)")
    parser.add_argument("--webhook-calls", type=int, help="points_earn calls per webhook set-up (default 500)")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn run")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    quick = args.quick
    args.requests = args.requests or (50 if quick else 300)
    args.http_requests = args.http_requests or (100 if quick else 500)
    args.rounds = args.rounds or (5 if quick else 20)
    args.webhook_calls = args.webhook_calls or (50 if quick else 500)
    args.buyers = 20
    return args


@contextlib.contextmanager
def running_gunicorn(host: Host) -> Iterator[Gunicorn]:
    server = gunicorn_start(host)
    try:
        yield server
    finally:
        gunicorn_stop(server)


def fixtures_for(host: Host, tag: str, buyers: int) -> dict[str, Any]:
    """Members of ``host`` for one run: buyers, a holder with points to hold, a member with a
    long history."""
    from points.services import points_earn

    names = [f"{tag}-buyer-{i}" for i in range(buyers)]
    for name in names:
        link_member(host, name)
    holder = f"{tag}-holder"
    give_points(link_member(host, holder), 1_000_000, f"bench-{tag}-holder")
    historian = f"{tag}-history"
    user_id = link_member(host, historian)
    for i in range(ENTRIES_HISTORY):
        points_earn(user_id=user_id, amount=1 + i % 7, idempotency_key=f"bench-{tag}-history-{i}")
    return {"buyers": names, "holder": holder, "historian": historian}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # WhiteNoise warns that collectstatic never ran: the API serves no static files.
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")
    common.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host must be allowed
    quiet_celery()
    info = common.machine()
    load_start = os.getloadavg()
    progress(f"integration benchmark on {info['cpu']} ×{info['cores']}, Postgres {info['postgres']}")
    truncate()
    host = make_host("Bench shop")
    fixtures = fixtures_for(host, "bench", args.buyers)
    progress("members made")
    in_process = run_in_process(host, scenarios(host, "ip", args.requests + 1, fixtures))
    http: list[Row] = []
    gunicorn_note = "skipped (--no-http)"
    if not args.no_http:
        with running_gunicorn(host) as server:
            http = run_http(server, host, scenarios(host, "http", args.http_requests, fixtures))
        gunicorn_note = (
            "DJANGO_DEBUG=0, the production settings and the repository's gunicorn.conf.py: "
            f"{GUNICORN_WORKERS} workers of 2 threads, access log on; the API needs no collected static files"
        )
    race = bench_race(host, args.rounds)
    hooks = bench_webhooks(args.webhook_calls)
    body = render(info, args, gunicorn_note, in_process, http, race, hooks, (load_start, os.getloadavg()))
    print()
    print(body)
    if not args.no_report:
        common.write_section(HEADING, body)
        progress(f"wrote the {HEADING} section of {common.REPORT_PATH}")
    if not (all(row.ok for row in in_process + http) and race.ok and hooks.ok):
        raise SystemExit("a correctness check failed (see above)")


if __name__ == "__main__":
    main()
