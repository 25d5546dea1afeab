"""Chaos run (issue #14): real traffic through gunicorn while the harness breaks things, then the invariants.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_bench_chaos \\
        .venv/bin/python -m bench.chaos [--clients 32 --seconds 60 --seed N --fault-every 3]

It TRUNCATES the user, ledger, catalog, lottery and integration tables, so it refuses any database
that is not Postgres named ``pm_bench*``. It starts, all on 127.0.0.1 and stopped by PID at the end:

- a ``redis-server`` of its own (tests/spare_redis.py): the cache, the sessions' cache and the
  Celery broker of everything below, so the harness can stop and start it;
- ``gunicorn pointsmall.wsgi`` with the production settings (DJANGO_DEBUG=0; TLS "ends at a proxy":
  every request says ``X-Forwarded-Proto: https``) and the repository's gunicorn.conf.py;
- a Celery worker (prefork, in a process group of its own), e-mail to files so messages can be counted;
- a webhook receiver (bench.integration.Receiver) counting each (endpoint, event id).

Then N client threads, each a host shop *and* a member with a browser session (a real sign-in through
the allauth form, CSRF tokens read from the pages), do random operations for the duration: earn
(``POST /purchases``), spend (hold + capture), refund (``POST /purchases/{id}/refunds``), redeem (the
confirmation page with the PIN), cancel an order, check in, draw in the lottery; 10 % of them are sent
again with the same idempotency key (the host API) or submitted twice (the web forms). A sweeper
sends the beat's jobs (expiry, delivery and webhook retries, hold expiry) through the broker and runs
``manage.py points_expire`` now and then, over lots made at set-up to expire during the run. A fault
thread meanwhile SIGKILLs a gunicorn worker, SIGKILLs the Celery worker (and starts it again),
terminates the app's database connections (``pg_terminate_backend``) and stops and starts the Redis.

Afterwards (faults healed, the worker draining for a bounded time, the expiry sweep run once) it
checks the invariants (see ``check_invariants``), prints the operations, faults and results and
rewrites the ``## Chaos run`` section of docs/reliability.md. It exits non-zero when an invariant fails.
tests/test_chaos.py runs the same code, smaller, on the pytest database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import common
from bench.common import percentile, progress
from bench.integration import Call, Gunicorn, Host, Receiver, gunicorn_start, gunicorn_stop, link_member, make_host

HEADING = "Chaos run"
REPORT_PATH = common.REPORT_PATH.parent / "reliability.md"
EXAMPLE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pm_bench_chaos"
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "chaos-Horse-battery-42"  # noqa: S105 (the bench members' sign-in password, on a scratch database)
PIN = "731946"
HTTP_TIMEOUT = 20.0
# An error answer counts as "during a fault" when its request overlapped a fault's window widened by
# this much (a worker's respawn, a pool reconnecting, the cache's pause after a Redis failure).
FAULT_GRACE_SECONDS = 3.0
CELERY_START_SECONDS = 40.0
FAULT_KINDS = ("gunicorn_worker_kill", "celery_worker_kill", "db_terminate", "redis_restart")
WEBHOOK_EVENTS = ["points.earned", "points.spent", "order.created", "order.status_changed"]
OPERATIONS = ("earn", "spend", "refund", "redeem", "cancel", "checkin", "draw")
WEIGHTS = (30, 15, 10, 20, 10, 5, 10)


@dataclass
class Options:
    clients: int = 32
    seconds: float = 60.0
    seed: int = 1
    fault_every: float = 3.0  # mean seconds between faults
    gunicorn_workers: int = 3
    celery_concurrency: int = 2
    replay_rate: float = 0.10
    drain_seconds: float = 30.0
    hard_timeout: float = 600.0  # the whole run, set-up to report


# --- Records -----------------------------------------------------------------------------


@dataclass
class Op:
    kind: str
    started: float
    seconds: float
    outcome: str  # acked | refused | error
    status: int | None = None  # the last HTTP status (None: no answer: connection error, timeout)
    ids: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False  # sent twice with the same key (or submitted twice)
    during_fault: bool = False
    note: str = ""


@dataclass
class Fault:
    kind: str
    start: float
    end: float
    note: str = ""


@dataclass
class Record:
    """What the harness saw: every operation and every fault, thread-safe appends."""

    ops: list[Op] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def op(self, op: Op) -> None:
        with self.lock:
            self.ops.append(op)

    def fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def classify(self) -> None:
        """Mark each operation that overlapped a fault window (widened by FAULT_GRACE_SECONDS)."""
        windows = [(f.start, f.end + FAULT_GRACE_SECONDS) for f in self.faults]
        for op in self.ops:
            end = op.started + op.seconds
            op.during_fault = any(start <= end and op.started <= stop for start, stop in windows)


# --- The world: members, products, a lottery, lots that expire during the run ------------


@dataclass
class Member:
    user_id: int
    external_id: str
    email: str


@dataclass
class World:
    host: Host
    members: list[Member]
    products: dict[int, int]  # product id -> stock at the start
    limited_product: int
    campaign_id: int
    expiring_lots: int
    expiring_points: int


def truncate() -> None:
    """Empty users (CASCADE: orders, ledger, check-ins, draws, inbox), the integration tables, products
    and lottery campaigns. Only on a pm_bench* database (bench.common.setup checks)."""
    from django.db import connection

    from bench.integration import truncate as truncate_integration
    from catalog.models import Category, Product
    from lottery.models import LotteryCampaign

    truncate_integration()
    tables = [m._meta.db_table for m in (Product, Category, LotteryCampaign)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def build_world(options: Options, rng: random.Random) -> World:
    """Members (a host link, a password, a PIN, an address, points; some in lots that expire during
    the run), three products (one limited), a published lottery, an integration client with a
    webhook endpoint set later (``subscribe``). Hashes are PBKDF2 as the server checks them."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.test import override_settings
    from django.utils import timezone

    from accounts import services as accounts_services
    from catalog.enums import ProductKind
    from catalog.models import Category, Product
    from lottery import services as lottery_services
    from lottery.models import LotteryPrize
    from points.services import points_earn

    host = make_host("Chaos shop")
    # One PBKDF2 hash for every member's password (the same password): the server checks it at sign-in.
    password_hash = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user_model = get_user_model()
    now = timezone.now()
    members: list[Member] = []
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        for i in range(options.clients):
            external_id = f"chaos-{i}"
            user_id = link_member(host, external_id)
            email = f"chaos-{i}@bench.example.com"
            user_model.objects.filter(pk=user_id).update(email=email, password=password_hash)
            EmailAddress.objects.filter(user_id=user_id).delete()
            EmailAddress.objects.create(user_id=user_id, email=email, verified=True, primary=True)
            accounts_services.pin_set(user_id=user_id, pin=PIN)
            accounts_services.address_create(
                user_id=user_id,
                recipient="王小明",
                phone="13800138000",
                province="浙江省",
                city="杭州市",
                district="西湖区",
                detail=f"文三路 {i} 号",
                postal_code="310000",
            )
            points_earn(user_id=user_id, amount=3000, idempotency_key=f"chaos-fund:{user_id}")
            members.append(Member(user_id, external_id, email))
    category = Category.objects.create(name_zh="混沌", name_en="Chaos", slug="chaos", sort=1)
    products: dict[int, int] = {}
    for n, (price, stock, limit) in enumerate([(100, 100_000, 3), (300, 400, 2), (50, 6, 1)]):
        product = Product.objects.create(
            name_zh=f"商品{n}",
            name_en=f"Item {n}",
            description_zh="中文介绍",
            description_en="An English description.",
            category=category,
            kind=ProductKind.PHYSICAL,
            points_price=price,
            stock=stock,
            per_order_limit=limit,
            low_stock_threshold=1,
        )
        products[product.pk] = stock
    limited = max(products, key=lambda pk: -products[pk])
    campaign = lottery_services.lottery_campaign_create(
        name="混沌转盘",
        name_en="Chaos wheel",
        description="每次 10 积分。",
        description_en="10 points a draw.",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        cost_points=10,
        tier_free_draws=False,
    )
    LotteryPrize.objects.create(
        campaign=campaign, position=0, name="20积分", name_en="20 points", kind="points", points=20,
        weight_bp=3000, quantity=100_000,
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, position=1, name="谢谢参与", name_en="Thanks for playing", kind="none", weight_bp=7000
    )
    lottery_services.lottery_campaign_publish(campaign_id=campaign.pk, now=now - timedelta(hours=2))
    return World(host, members, products, limited, campaign.pk, 0, 0)


def make_expiring_lots(world: World, options: Options, rng: random.Random) -> None:
    """Two lots a member that expire at random moments of the run about to start (made just before it)."""
    from django.utils import timezone

    from points.services import points_earn

    for member in world.members:
        for n in range(2):
            expires_at = timezone.now() + timedelta(seconds=rng.uniform(2, max(3.0, options.seconds * 0.9)))
            amount = rng.randint(50, 300)
            points_earn(
                user_id=member.user_id,
                amount=amount,
                idempotency_key=f"chaos-expiring:{member.user_id}:{n}",
                expires_at=expires_at,
            )
            world.expiring_lots += 1
            world.expiring_points += amount


def subscribe(host: Host, url: str) -> None:
    from pointsmall.integration.models import WebhookEndpoint

    WebhookEndpoint.objects.create(client_id=host.client_id, url=f"{url}/hook", events=WEBHOOK_EVENTS)


# --- The stack: Redis, gunicorn, Celery ----------------------------------------------------


def database_url() -> str:
    """The URL of the database Django is connected to (the pytest database in tests)."""
    from django.db import connection

    s = connection.settings_dict
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class CeleryWorker:
    """``celery -A pointsmall worker`` (prefork) in a new session: SIGKILL goes to its process group."""

    def __init__(self, env: dict[str, str], concurrency: int, log: Path) -> None:
        self.env, self.concurrency, self.log = env, concurrency, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.process is None
        offset = self.log.stat().st_size if self.log.exists() else 0
        command = [
            sys.executable, "-m", "celery", "-A", "pointsmall", "worker", "--loglevel=INFO", "--pool=prefork",
            f"--concurrency={self.concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"chaos-{os.getpid()}-{self.starts}@%h",
        ]  # fmt: skip
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
                command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        # A readiness wait: the worker logs "ready." once it consumes (the broker may be down: then it waits).
        deadline = time.monotonic() + CELERY_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the Celery worker stopped at start (exit {self.process.returncode}); log {self.log}"
                )
            with self.log.open("rb") as handle:
                handle.seek(offset)
                if b" ready." in handle.read():
                    return
            time.sleep(0.2)
        progress(f"the Celery worker {self.process.pid} is not ready after {CELERY_START_SECONDS:.0f} s (going on)")

    def kill(self) -> None:
        """SIGKILL the worker's process group (the main process and its pool), by its PID."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL to the group if it lingers."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Stack:
    redis: Any  # tests.spare_redis.SpareRedis
    gunicorn: Gunicorn
    celery: CeleryWorker
    receiver: Receiver
    env: dict[str, str]
    mail_dir: Path
    logs: list[Path]


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (gunicorn's workers), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@contextlib.contextmanager
def running_stack(world: World, options: Options) -> Iterator[Stack]:
    """Redis, the webhook receiver, gunicorn and a Celery worker; everything stopped by PID at the end."""

    from tests.spare_redis import SpareRedis

    if not SpareRedis.available():
        raise SystemExit("the chaos run needs the redis-server binary (apt-get install redis-server)")
    mail_dir = Path(tempfile.mkdtemp(prefix="chaos-mail-"))
    celery_log = Path(tempfile.mkstemp(prefix="chaos-celery-", suffix=".log")[1])
    redis = SpareRedis()
    receiver = Receiver()
    server: Gunicorn | None = None
    worker: CeleryWorker | None = None
    redis.start()
    try:
        receiver.__enter__()
        subscribe(world.host, receiver.url)
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis.url,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # One key for the server and the worker (signed links in messages are checked by the server).
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            **common.shared_secrets_env(),
            "WEBHOOK_ALLOW_PRIVATE_HOSTS": "1",
            # The members come through the proxy that ends TLS, each from an address of its own (the
            # X-Forwarded-For the clients send): with every member on 127.0.0.1, allauth's sign-in
            # limit (30 a minute per address) turned the 31st and 32nd sign-ins of the set-up away.
            "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
            "EMAIL_BACKEND": "bench.chaos_mail.EmailBackend",
            "CHAOS_MAIL_DIR": str(mail_dir),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONWARNINGS": "ignore:No directory at",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        # The member pages need the hashed static files' manifest, as the Procfile's release step makes it.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        server = gunicorn_start(world.host, workers=options.gunicorn_workers, env=env)
        worker = CeleryWorker(env, options.celery_concurrency, celery_log)
        worker.start()
        progress(f"Redis on {redis.port}, gunicorn {server.process.pid}, Celery worker {worker.process.pid}")
        yield Stack(redis, server, worker, receiver, env, mail_dir, [server.log, celery_log])
    finally:
        if worker is not None:
            worker.stop()
        if server is not None:
            gunicorn_stop(server)
        with contextlib.suppress(Exception):
            receiver.__exit__(None, None, None)
        redis.stop()


# --- Clients -----------------------------------------------------------------------------


_INPUT = re.compile(r"<input[^>]*>", re.IGNORECASE)


def form_values(html: str) -> dict[str, str]:
    """name → value of every <input> with both (hidden fields, CSRF token, keys, confirmations)."""
    values = {}
    for tag in _INPUT.findall(html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and value:
            values[name.group(1)] = value.group(1).replace("&amp;", "&")
    return values


class Client:
    """One thread's host shop and member: the host API signed as the host, the web pages as the member."""

    def __init__(self, n: int, world: World, stack: Stack, record: Record, rng: random.Random, options: Options):
        import requests

        self.n, self.world, self.stack, self.record, self.rng, self.options = n, world, stack, record, rng, options
        self.member = world.members[n]
        self.api = requests.Session()
        self.api.trust_env = False
        self.web = requests.Session()
        self.web.trust_env = False
        self.base = stack.gunicorn.base
        self.origin = f"https://127.0.0.1:{stack.gunicorn.port}"
        self.purchases: list[str] = []  # acked purchase ids
        self.orders: list[int] = []  # acked, not cancelled by this client
        self.serial = 0
        self.last_error = ""  # why the last request got no answer (timeout, reset, refused)

    # -- plumbing

    def _next(self, prefix: str) -> str:
        self.serial += 1
        return f"c{self.n}-{prefix}{self.serial}"

    def api_send(self, call: Call) -> tuple[int | None, bytes, bool]:
        """(status or None on a connection error/timeout, body, replayed)."""
        import requests

        body = call.body
        headers = {
            **self.world.host.headers(call.method, call.full_path, body),
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",
        }
        try:
            r = self.api.request(
                call.method, self.base + call.full_path, data=body, headers=headers, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as error:
            self.last_error = _no_answer(error)
            return None, b"", False
        return r.status_code, r.content, r.headers.get("Idempotent-Replayed") == "true"

    def _web_headers(self) -> dict[str, str]:
        return {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": f"10.14.{self.n // 250}.{self.n % 250 + 1}",
            "Origin": self.origin,
            "Referer": self.origin + "/",
        }

    def get(self, path: str):
        response = self.web.get(
            self.base + path, headers=self._web_headers(), timeout=HTTP_TIMEOUT, allow_redirects=False
        )
        self._unsecure_cookies()
        return response

    def post(self, path: str, data: dict[str, str]):
        response = self.web.post(
            self.base + path, data=data, headers=self._web_headers(), timeout=HTTP_TIMEOUT, allow_redirects=False
        )
        self._unsecure_cookies()
        return response

    def _unsecure_cookies(self) -> None:
        """TLS ends at the (absent) proxy: the Secure session, CSRF and messages cookies go back over plain
        HTTP to 127.0.0.1 (requests merges the jar into a fresh one per request, so no cookie policy)."""
        for cookie in self.web.cookies:
            cookie.secure = False

    def login(self) -> bool:
        r = self.get("/accounts/login/")
        if r.status_code != 200:
            return False
        token = form_values(r.text).get("csrfmiddlewaretoken", "")
        r = self.post(
            "/accounts/login/", {"csrfmiddlewaretoken": token, "login": self.member.email, "password": PASSWORD}
        )
        return r.status_code == 302 and "/accounts/login" not in r.headers.get("Location", "")

    def _signed_out(self, response) -> bool:
        """A member page sent to the sign-in, or a public page (the lottery's) shown to a visitor."""
        if response.status_code == 302:
            return "/accounts/login" in response.headers.get("Location", "")
        return response.status_code == 200 and 'href="/accounts/login/"' in response.text

    def page_form(self, path: str):
        """GET a page as the member (signing in again if the session is gone); (response, its form values)."""
        r = self.get(path)
        if self._signed_out(r):
            self.record.op(Op("sign-in again", time.monotonic(), 0.0, "acked" if self.login() else "error"))
            r = self.get(path)
        return r, form_values(r.text) if r.status_code == 200 else {}

    def run(self, until: float) -> None:
        actions: dict[str, Callable[[], None]] = {
            "earn": self.earn,
            "spend": self.spend,
            "refund": self.refund,
            "redeem": self.redeem,
            "cancel": self.cancel,
            "checkin": self.checkin,
            "draw": self.draw,
        }
        while time.monotonic() < until:
            kind = self.rng.choices(OPERATIONS, WEIGHTS)[0]
            started = time.monotonic()
            try:
                actions[kind]()
            except Exception as error:  # a page read (GET) that got no answer, or a harness bug (the note)
                self.record.op(
                    Op(kind, started, time.monotonic() - started, "error", ids={"no_answer": _no_answer(error)},
                       note=repr(error)[:200])
                )  # fmt: skip

    def _replay(self) -> bool:
        return self.rng.random() < self.options.replay_rate

    # -- host API operations

    def _api_op(self, kind: str, call: Call, ok: int, ids: dict[str, Any]) -> Op:
        """Send ``call`` (and, 10 %, again with the same key); after no answer or a 5xx, retry with the same
        key at most twice, as docs/integration.md tells hosts to."""
        started = time.monotonic()
        replay = self._replay()
        status, body, _ = self.api_send(call)
        first = status
        tries = 1
        while (status is None or status >= 500) and tries < 3:
            time.sleep(0.3 * tries)
            status, body, _ = self.api_send(call)
            tries += 1
        note = f"first answer {first}, retried" if tries > 1 else ""
        if replay and status == ok:
            again, again_body, replayed = self.api_send(call)
            keyed = call.method == "POST" and not call.path.endswith("/capture")
            # A replay that got no answer (a fault) proves nothing either way; one that did must be the same.
            answered = again is not None and again < 500
            if answered and (again != ok or (keyed and not replayed) or _json(again_body) != _json(body)):
                note += f" replay answered {again} replayed={replayed}"
                ids["replay_mismatch"] = True
        outcome = "acked" if status == ok else ("error" if status is None or status >= 500 else "refused")
        if status is None:
            ids["no_answer"] = self.last_error
        if status is not None and status == ok:
            with contextlib.suppress(ValueError):
                ids["answer"] = json.loads(body)
        op = Op(kind, started, time.monotonic() - started, outcome, status, ids, replay, note=note.strip())
        if first is None or first >= 500:
            op.ids["had_error"] = True
        self.record.op(op)
        return op

    def earn(self) -> None:
        order_id = self._next("SO-")
        amount = f"{self.rng.randint(10, 400)}.00"
        call = Call(
            "POST", "/purchases", {"external_order_id": order_id, "member": self.member.external_id, "amount": amount}
        )
        op = self._api_op("earn", call, 201, {"purchase": order_id})
        if op.outcome == "acked":
            self.purchases.append(order_id)

    def spend(self) -> None:
        host_order = self._next("HO-")
        points = self.rng.randint(5, 60)
        call = Call(
            "POST", f"/members/{self.member.external_id}/holds", {"host_order_id": host_order, "points": points}
        )
        op = self._api_op("spend (hold)", call, 201, {"host_order": host_order})
        if op.outcome != "acked":
            return
        hold_id = op.ids["answer"]["id"]
        self._api_op("spend (capture)", Call("POST", f"/holds/{hold_id}/capture"), 200, {"hold": hold_id})

    def refund(self) -> None:
        if not self.purchases:
            return self.earn()
        purchase = self.rng.choice(self.purchases)
        refund_id = self._next("RF-")
        call = Call("POST", f"/purchases/{purchase}/refunds", {"refund_id": refund_id, "amount": "5.00"})
        self._api_op("refund", call, 201, {"purchase": purchase, "refund": refund_id})
        return None

    # -- web operations

    def _web_op(self, kind: str, started: float, response, ok: bool, ids: dict[str, Any], replay: bool, note: str = ""):
        status = None if response is None else response.status_code
        if response is None:
            ids["no_answer"] = self.last_error
        if ok:
            outcome = "acked"
        elif status is None or status >= 500:
            outcome = "error"
        else:
            outcome = "refused"
        op = Op(kind, started, time.monotonic() - started, outcome, status, ids, replay, note=note)
        self.record.op(op)
        return op

    def _post_safely(self, path: str, data: dict[str, str]):
        import requests

        try:
            return self.post(path, data)
        except requests.RequestException as error:
            self.last_error = _no_answer(error)
            return None

    def redeem(self) -> None:
        started = time.monotonic()
        product = self.world.limited_product if self.rng.random() < 0.15 else self.rng.choice(list(self.world.products))
        page, values = self.page_form(f"/mall/products/{product}/redeem/?quantity=1")
        if page.status_code != 200 or "idempotency_key" not in values or not values.get("confirmation"):
            # No form to submit (a refusal shown on the page: too few points, sold out) or a failed page.
            self._web_op("redeem", started, page, False, {"product": product}, False, note="no form")
            return
        data = {k: values[k] for k in ("csrfmiddlewaretoken", "idempotency_key", "confirmation") if k in values}
        data.update(quantity="1", pin=PIN)
        if "address" in values:
            data["address"] = values["address"]
        else:
            address = re.search(r'name="address"[^>]*value="(\d+)"', page.text)
            if address:
                data["address"] = address.group(1)
        replay = self._replay()
        path = f"/mall/products/{product}/redeem/"
        ids: dict[str, Any] = {"product": product, "key": f"web:{self.member.user_id}:{data['idempotency_key']}"}
        response = self._post_safely(path, data)
        order_id = self._placed(response)
        if replay and response is not None:
            again = self._post_safely(path, data)
            again_id = self._placed(again)
            ids["replay_order"] = again_id
            ids["replay_status"] = None if again is None else again.status_code
            if order_id is None and again_id is not None:
                response, order_id = again, again_id
        if order_id is not None:
            ids["order"] = order_id
            self.orders.append(order_id)
        if response is None or response.status_code >= 500:
            ids["had_error"] = True
        self._web_op("redeem", started, response, order_id is not None, ids, replay)

    @staticmethod
    def _placed(response) -> int | None:
        if response is None or response.status_code != 302:
            return None
        match = re.search(r"/mall/orders/(\d+)/\?placed=1", response.headers.get("Location", ""))
        return int(match.group(1)) if match else None

    def cancel(self) -> None:
        if not self.orders:
            return self.redeem()
        started = time.monotonic()
        order_id = self.rng.choice(self.orders)
        _page, values = self.page_form(f"/mall/orders/{order_id}/")
        token = values.get("csrfmiddlewaretoken") or self.web.cookies.get("csrftoken", "")
        replay = self._replay()
        response = self._post_safely(f"/mall/orders/{order_id}/cancel/", {"csrfmiddlewaretoken": token})
        if replay and response is not None and response.status_code == 302:
            self._post_safely(f"/mall/orders/{order_id}/cancel/", {"csrfmiddlewaretoken": token})
        ok = False
        if response is not None and response.status_code == 302:
            # The answer is the order's page with a flash message: success, or the refusal as an error.
            with contextlib.suppress(Exception):
                shown = self.get(response.headers["Location"])
                ok = "alert-success" in shown.text
                if ok:
                    self.orders.remove(order_id)
        self._web_op("cancel", started, response, ok, {"order": order_id}, replay)
        return None

    def checkin(self) -> None:
        started = time.monotonic()
        _page, values = self.page_form("/checkin/")
        replay = self._replay()
        data = {"csrfmiddlewaretoken": values.get("csrfmiddlewaretoken") or self.web.cookies.get("csrftoken", "")}
        response = self._post_safely("/checkin/record/", data)
        if replay and response is not None:
            self._post_safely("/checkin/record/", data)
        ok = (
            response is not None and response.status_code == 302 and "/checkin/" in response.headers.get("Location", "")
        )
        self._web_op("checkin", started, response, ok, {"user": self.member.user_id}, replay)

    def draw(self) -> None:
        started = time.monotonic()
        campaign = self.world.campaign_id
        page, values = self.page_form(f"/lottery/{campaign}/")
        if "idempotency_key" not in values:
            self._web_op("draw", started, page, False, {}, False, note="no form")
            return
        data = {k: values[k] for k in ("csrfmiddlewaretoken", "idempotency_key", "confirmation") if k in values}
        data["client_seed"] = values.get("client_seed") or secrets.token_hex(8)
        replay = self._replay()
        response = self._post_safely(f"/lottery/{campaign}/draw/", data)
        ids: dict[str, Any] = {"key": data["idempotency_key"], "user": self.member.user_id}
        if response is not None:
            ids["request_id"] = response.headers.get("X-Request-ID", "")
        if replay and response is not None:
            again = self._post_safely(f"/lottery/{campaign}/draw/", data)
            ids["replay_status"] = None if again is None else again.status_code
            ids["replay_location"] = "" if again is None else again.headers.get("Location", "")
        location = "" if response is None else response.headers.get("Location", "")
        ok = response is not None and response.status_code == 302 and location.endswith(f"/lottery/{campaign}/")
        ids["location"] = location
        if response is None or response.status_code >= 500:
            ids["had_error"] = True
        # Sent to the sign-in: the session was gone (nothing drawn, nothing claimed); sign in for the next one.
        note = "signed out" if response is not None and self._signed_out(response) else ""
        if note:
            self.record.op(Op("sign-in again", time.monotonic(), 0.0, "acked" if self.login() else "error"))
        self._web_op("draw", started, response, ok, ids, replay, note=note)


def _no_answer(error: Exception) -> str:
    """Why a request got no answer: the client gave up waiting, or the server closed or refused."""
    import requests

    if isinstance(error, requests.Timeout):
        return "timeout"
    text = repr(error)
    for reason in ("reset", "aborted", "refused", "RemoteDisconnected"):
        if reason in text:
            return f"connection {reason.lower()}"
    return type(error).__name__


def _json(body: bytes) -> Any:
    """The answer without the fields that may differ between two answers of one effect (none today)."""
    try:
        return json.loads(body)
    except ValueError:
        return body


# --- Faults and sweeps -------------------------------------------------------------------


def terminate_connections(own_pid: int | None = None) -> int:
    """pg_terminate_backend on every other connection to this database (gunicorn's, the worker's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def fault_loop(stack: Stack, record: Record, rng: random.Random, options: Options, until: float) -> None:
    """At random moments (exponential gaps of mean ``fault_every``) one fault, the kinds in a shuffled cycle
    so each is injected; each heals before the next (Redis restarted, the worker started again)."""
    from django.db import connection

    cycle: list[str] = []
    try:
        while True:
            gap = min(rng.expovariate(1 / options.fault_every), options.fault_every * 2.5)
            if time.monotonic() + gap >= until - 1:
                return
            time.sleep(gap)
            if not cycle:
                cycle = list(FAULT_KINDS)
                rng.shuffle(cycle)
            kind = cycle.pop()
            start = time.monotonic()
            note = ""
            if kind == "gunicorn_worker_kill":
                workers = _children(stack.gunicorn.process.pid)
                if not workers:
                    continue
                victim = rng.choice(workers)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
                note = f"worker {victim}"
                time.sleep(1.0)  # the master notices and forks a new one
            elif kind == "celery_worker_kill":
                stack.celery.kill()
                time.sleep(rng.uniform(0.5, 2.0))
                stack.celery.start()
            elif kind == "db_terminate":
                note = f"{terminate_connections()} connections"
            elif kind == "redis_restart":
                stack.redis.stop()
                time.sleep(rng.uniform(1.0, 3.0))
                stack.redis.start()
            record.fault(Fault(kind, start, time.monotonic(), note))
    finally:
        connection.close()


JOBS = ("points.expire", "points.holds_expire", "accounts.deliveries_retry", "integration.webhooks_retry")


def send_jobs(broker_url: str, names: tuple[str, ...] = JOBS) -> None:
    """Publish the beat's jobs to the broker as beat would (no retry: a broker that is down is an error)."""
    from celery import Celery

    app = Celery("chaos-beat", broker=broker_url)
    app.conf.broker_connection_timeout = 2
    app.conf.broker_connection_retry_on_startup = False
    try:
        for name in names:
            app.send_task(name, retry=False)
    finally:
        app.close()


def sweep_loop(stack: Stack, record: Record, options: Options, until: float) -> None:
    """Every ~3 s the beat's jobs through the broker; every ~4th time ``manage.py points_expire`` instead."""
    n = 0
    while time.monotonic() < until - 1:
        time.sleep(3.0)
        n += 1
        started = time.monotonic()
        if n % 4 == 0:
            result = subprocess.run(
                [sys.executable, "manage.py", "points_expire"],
                cwd=ROOT,
                env=stack.env,
                capture_output=True,
                timeout=60,
                check=False,
            )
            outcome = "acked" if result.returncode == 0 else "error"
            record.op(
                Op(
                    "expire (command)",
                    started,
                    time.monotonic() - started,
                    outcome,
                    result.returncode,
                    note=result.stderr.decode()[-200:] if result.returncode else "",
                )
            )
        else:
            try:
                send_jobs(stack.redis.url)
                outcome, note = "acked", ""
            except Exception as error:
                outcome, note = "error", repr(error)[:200]
            record.op(Op("expire + retries (task)", started, time.monotonic() - started, outcome, note=note))


# --- After the run: drain, sweep, check ------------------------------------------------------


def drain(stack: Stack, options: Options) -> dict[str, int]:
    """Heal everything, then let the worker send what is due (beat's retries every 2 s) until no
    delivery and no webhook is pending or the time is up. Returns what is still not done, by status."""
    from django.db import connection

    from accounts.models import Delivery
    from pointsmall.integration.models import WebhookDelivery

    if not stack.redis.running:
        stack.redis.start()
    if stack.celery.process is None or stack.celery.process.poll() is not None:
        stack.celery.process = None
        stack.celery.start()
    deadline = time.monotonic() + options.drain_seconds
    left: dict[str, int] = {}
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            send_jobs(
                stack.redis.url, ("accounts.deliveries_retry", "integration.webhooks_retry", "points.holds_expire")
            )
        connection.close()
        left = {
            **{
                f"delivery {s}": n
                for s, n in Counter(
                    Delivery.objects.exclude(status__in=["sent", "skipped", "failed"]).values_list("status", flat=True)
                ).items()
            },
            **{
                f"webhook {s}": n
                for s, n in Counter(
                    WebhookDelivery.objects.exclude(status__in=["sent", "failed"]).values_list("status", flat=True)
                ).items()
            },
        }
        if not left:
            break
        time.sleep(2.0)
    return left


def emails_written(mail_dir: Path) -> Counter:
    """Messages the file e-mail backend wrote (one Message-ID header each), by recipient."""
    written: Counter = Counter()
    for path in mail_dir.iterdir():
        for message in re.split(rb"^-{79}$", path.read_bytes(), flags=re.MULTILINE):
            if re.search(rb"^Message-ID: ", message, re.MULTILINE):
                to = re.search(rb"^To: (.*)$", message, re.MULTILINE)
                written[to.group(1).decode().strip() if to else "?"] += 1
    return written


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_invariants(world: World, record: Record, stack: Stack) -> list[Check]:
    """Every invariant the issue names, each a Check with what was found."""
    from django.db import connection
    from django.db.models import Count, Q, Sum
    from django.utils import timezone

    from accounts.models import Delivery, Notification
    from catalog.enums import OrderStatus
    from catalog.models import Order, Product
    from lottery.models import Draw
    from points.enums import EntryKind
    from points.models import Account, Entry, Hold, Lot, Purchase, PurchaseRefund
    from points.services import points_verify
    from pointsmall.integration.models import WebhookDelivery
    from tasks.models import Checkin

    connection.close()
    checks: list[Check] = []
    acked = [op for op in record.ops if op.outcome == "acked"]

    report = points_verify(limit_per_check=20)
    checks.append(
        Check(
            "points_verify finds nothing",
            report.ok,
            "clean" if report.ok else "; ".join(f"{v.check} #{v.row_id}: {v.detail}" for v in report.violations[:10]),
        )
    )
    negative = Account.objects.filter(Q(balance__lt=0) | Q(pending__lt=0)).count()
    checks.append(Check("no negative balance", negative == 0, f"{negative} accounts below zero"))

    # Stock: bounds, and stock + sold (orders not cancelled) == stocked.
    problems = []
    for product in Product.objects.filter(pk__in=world.products):
        stocked = world.products[product.pk]
        sold = (
            Order.objects.filter(product_id=product.pk)
            .exclude(status=OrderStatus.CANCELLED)
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        if not 0 <= product.stock <= stocked or product.stock + sold != stocked:
            problems.append(f"product {product.pk}: stock {product.stock}, sold {sold}, stocked {stocked}")
    checks.append(
        Check(
            "0 ≤ stock ≤ stocked, stock + sold = stocked",
            not problems,
            "; ".join(problems) or f"{len(world.products)} products",
        )
    )

    # Each order has exactly its ledger entries: one spend of its points; a refund of all of them iff closed.
    problems = []
    orders = list(
        Order.objects.filter(product_id__in=world.products).values("pk", "status", "points_total", "spend_entry_id")
    )
    spend_ids = [o["spend_entry_id"] for o in orders if o["spend_entry_id"]]
    spends = {e.pk: e for e in Entry.objects.filter(pk__in=spend_ids)}
    refunds: dict[int, list[int]] = defaultdict(list)
    for related, amount in Entry.objects.filter(related_entry_id__in=spend_ids, kind=EntryKind.REFUND).values_list(
        "related_entry_id", "amount"
    ):
        refunds[related].append(amount)
    for o in orders:
        spend = spends.get(o["spend_entry_id"])
        if spend is None or spend.amount != -o["points_total"]:
            problems.append(f"order {o['pk']}: spend entry {o['spend_entry_id']} {getattr(spend, 'amount', None)}")
            continue
        back = refunds.get(spend.pk, [])
        if o["status"] == OrderStatus.CANCELLED and back != [o["points_total"]]:
            problems.append(f"order {o['pk']} closed, refunds {back}")
        if o["status"] != OrderStatus.CANCELLED and back:
            problems.append(f"order {o['pk']} {o['status']}, refunds {back}")
    order_refs = (
        Entry.objects.filter(kind=EntryKind.SPEND, reference__startswith="catalog.order:")
        .exclude(pk__in=spend_ids)
        .count()
    )
    if order_refs:
        problems.append(f"{order_refs} order spend entries without an order")
    checks.append(
        Check(
            "each order has exactly its ledger entries",
            not problems,
            "; ".join(problems[:10]) or f"{len(orders)} orders",
        )
    )

    # Purchases: one earn each (its own entry, not shared), refunds each with their reversal.
    problems = []
    purchases = list(Purchase.objects.values("external_id", "earn_entry_id"))
    earns = Counter(p["earn_entry_id"] for p in purchases)
    problems += [f"purchase {p['external_id']} has no earn entry" for p in purchases if p["earn_entry_id"] is None]
    problems += [f"earn entry {e} shared by {n} purchases" for e, n in earns.items() if e and n > 1]
    duplicate_keys = (
        Entry.objects.exclude(idempotency_key__isnull=True)
        .exclude(idempotency_key="")
        .values("idempotency_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    if duplicate_keys:
        problems.append(f"{duplicate_keys} idempotency keys with more than one entry")
    captured = Hold.objects.filter(status="captured")
    if captured.filter(spend_entry__isnull=True).exists():
        problems.append("captured holds without a spend entry")
    if Hold.objects.exclude(status="captured").filter(spend_entry__isnull=False).exists():
        problems.append("holds not captured with a spend entry")
    checks.append(
        Check(
            "one earn per purchase key, one spend per captured hold",
            not problems,
            "; ".join(problems[:10]) or f"{len(purchases)} purchases, {captured.count()} captured holds",
        )
    )

    # Everything acknowledged is there.
    missing = []
    purchase_ids = {p["external_id"] for p in purchases}
    refund_keys = list(PurchaseRefund.objects.values_list("idempotency_key", flat=True))
    hold_status = dict(Hold.objects.values_list("pk", "status"))
    order_status = {o["pk"]: o["status"] for o in orders}
    order_keys = dict(Order.objects.values_list("idempotency_key", "pk"))
    checkins = set(Checkin.objects.filter(day=timezone.localdate()).values_list("member_id", flat=True))
    draw_keys = set(Draw.objects.values_list("idempotency_key", flat=True))
    cancelled = {op.ids["order"] for op in acked if op.kind == "cancel"}
    for op in acked:
        ids = op.ids
        if op.kind == "earn" and ids["purchase"] not in purchase_ids:
            missing.append(f"purchase {ids['purchase']}")
        elif op.kind == "refund" and not any(k.endswith(ids["refund"]) for k in refund_keys):
            missing.append(f"refund {ids['refund']}")
        elif op.kind == "spend (capture)" and hold_status.get(ids["hold"]) != "captured":
            missing.append(f"capture of hold {ids['hold']} ({hold_status.get(ids['hold'])})")
        elif op.kind == "redeem" and order_keys.get(ids["key"]) != ids["order"]:
            missing.append(f"order {ids['order']} (key {ids['key']})")
        elif op.kind == "cancel" and order_status.get(ids["order"]) != OrderStatus.CANCELLED:
            missing.append(f"cancel of order {ids['order']} ({order_status.get(ids['order'])})")
        elif op.kind == "checkin" and ids["user"] not in checkins:
            missing.append(f"check-in of {ids['user']}")
        elif op.kind == "draw" and f"{ids['user']}:{ids['key']}" not in draw_keys:
            window = "in a fault window" if op.during_fault else "outside fault windows"
            missing.append(f"draw {ids['user']}:{ids['key']} (answered 302 to {ids['location']}, {window})")
    closed_not_acked = [
        pk for pk, status in order_status.items() if status == OrderStatus.CANCELLED and pk not in cancelled
    ]
    checks.append(
        Check(
            "nothing acknowledged is missing",
            not missing,
            "; ".join(missing[:10]) or f"{len(acked)} acknowledged operations found",
        )
    )

    # Replays and double submits: one effect.
    problems = [f"{op.kind} {op.ids} ({op.note})" for op in record.ops if op.ids.get("replay_mismatch")]
    problems += [
        f"double submit of {op.ids['key']} placed {op.ids['order']} and {op.ids['replay_order']}"
        for op in record.ops
        if op.kind == "redeem" and op.ids.get("replay_order") and op.ids.get("order") != op.ids["replay_order"]
    ]
    checks.append(
        Check(
            "a replay or double submit has one effect",
            not problems,
            "; ".join(problems[:10]) or f"{sum(op.replayed for op in record.ops)} sent twice",
        )
    )

    # Errors (5xx, no answer) left nothing half done: an order of an errored redemption is complete.
    problems = []
    for op in record.ops:
        if op.kind == "redeem" and op.outcome != "acked" and op.ids.get("key") in order_keys:
            pk = order_keys[op.ids["key"]]
            if pk not in {o["pk"] for o in orders if o["spend_entry_id"] in spends}:
                problems.append(f"order {pk} of a failed redemption is incomplete")
    unacked_orders = sum(
        1 for op in record.ops if op.kind == "redeem" and op.outcome != "acked" and op.ids.get("key") in order_keys
    )
    # A draw answered with an error that was committed must be whole: its number, outcome and paid spend.
    errored_draws = [
        f"{op.ids['user']}:{op.ids['key']}" for op in record.ops if op.kind == "draw" and op.ids.get("had_error")
    ]
    drawn = list(
        Draw.objects.filter(idempotency_key__in=errored_draws).values(
            "pk", "number", "outcome", "cost_points", "spend_entry_id"
        )
    )
    for d in drawn:
        if d["number"] is None or not d["outcome"] or (d["cost_points"] and d["spend_entry_id"] is None):
            problems.append(f"draw {d['pk']} of a failed request is incomplete ({d})")
    checks.append(
        Check(
            "an error answer did not half-happen",
            not problems,
            "; ".join(problems)
            or f"{unacked_orders} redemptions and {len(drawn)} draws answered with an error were complete; "
            f"{len(closed_not_acked)} orders closed without an acknowledged cancel (cancel errored)",
        )
    )

    # Expiry: after the final sweep nothing past its expiry is left in a lot.
    now = timezone.now()
    overdue = Lot.objects.filter(expires_at__lte=now, remaining__gt=0, status="available").count()
    expired = -(Entry.objects.filter(kind=EntryKind.EXPIRE).aggregate(n=Sum("amount"))["n"] or 0)
    checks.append(
        Check(
            "expired lots are empty after the sweep",
            overdue == 0,
            f"{overdue} lots past expiry still hold points; {expired} points expired "
            f"(of {world.expiring_points} made to expire, less what was spent first)",
        )
    )

    # Notifications: one delivery per (notification, channel) (a constraint), no e-mail sent twice,
    # no inbox message twice for one event, each webhook event received once.
    sent_emails = Delivery.objects.filter(channel="email", status="sent").count()
    written_to = emails_written(stack.mail_dir)
    written = sum(written_to.values())
    marked_to = Counter(
        Delivery.objects.filter(channel="email", status="sent").values_list("notification__user__email", flat=True)
    )
    # Written but not marked sent: the row is still claimed ("sending") and is sent again when the claim
    # lapses; or written twice.
    unmarked = [
        f"{to}: {n} written, {marked_to.get(to, 0)} marked sent"
        for to, n in written_to.items()
        if n > marked_to.get(to, 0)
    ]
    claimed = list(
        Delivery.objects.filter(channel="email", status="sending").values_list(
            "pk", "notification__user__email", "next_attempt_at"
        )
    )
    dup_notes = (
        Notification.objects.exclude(dedupe_key__isnull=True)
        .values("user_id", "dedupe_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    dup_events = (
        Notification.objects.values("user_id", "message_code", "params").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    checks.append(
        Check(
            "no notification sent twice",
            written <= sent_emails and dup_notes == 0,
            f"{Notification.objects.count()} inbox messages ({dup_events} same code and parameters "
            f"for one member, {dup_notes} same dedupe key); {written} e-mails written for "
            f"{sent_emails} e-mail deliveries marked sent"
            + (f"; {'; '.join(unmarked[:5])}" if unmarked else "")
            + "".join(
                f"; delivery {pk} to {to} still sending (claim lapses {at:%H:%M:%S} UTC, then sent again)"
                for pk, to, at in claimed[:5]
            ),
        )
    )
    counts = stack.receiver.counts
    repeats = {key: n for key, n in counts.items() if n > 1}
    hooks_sent = WebhookDelivery.objects.filter(status="sent").count()
    checks.append(
        Check(
            "no webhook sent twice",
            not repeats,
            f"{sum(counts.values())} received, {len(counts)} distinct events, {hooks_sent} marked sent; "
            f"repeated: {list(repeats.items())[:5]}",
        )
    )
    return checks


# --- The run ---------------------------------------------------------------------------------


@dataclass
class Result:
    options: Options
    world: World
    record: Record
    checks: list[Check]
    left: dict[str, int]
    seconds: float
    logins: int
    server_errors: list[str]
    logs: list[Path] = field(default_factory=list)  # gunicorn's and the worker's, left in the temp directory

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def fault_counts(self) -> Counter:
        return Counter(f.kind for f in self.record.faults)

    def errors_outside_faults(self) -> list[Op]:
        return [op for op in self.record.ops if op.outcome == "error" and not op.during_fault]


_LOG_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) (?P<logger>\S+) \[[^\]]*\] (?P<text>.*)"
)
_DIGITS = re.compile(r"\d+")
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ |\[\d{4}-|127\.0\.0\.1 )")


def server_tracebacks(log: Path) -> list[str]:
    """What the server's ERROR records were, one string each: a 500 ("500 <path>: <the exception>", the
    last exception of the chain) or an error logged and handled ("<logger>: <its message>", e.g. a job
    that could not be queued while the broker was away: the request still answered)."""
    found = []
    lines = log.read_text(errors="replace").splitlines()
    i = 0
    while i < len(lines):
        record = _LOG_RECORD.match(lines[i])
        if record is None or record["level"] not in ("ERROR", "CRITICAL"):
            i += 1
            continue
        j, last = i + 1, ""
        while j < len(lines) and not _LOG_LINE.match(lines[j]):
            line = lines[j]
            if line and not line[0].isspace() and not line.startswith(("Traceback", "During handling", "The above")):
                last = line
            j += 1
        # A message may begin on the next line (Celery's result backend); a repr's address is noise.
        text = record["text"] or (lines[i + 1].strip() if i + 1 < len(lines) else "")
        text = re.sub(r" at 0x[0-9a-f]+", "", text)
        if record["logger"] == "django.request" and text.startswith("Internal Server Error: "):
            path = re.sub(r"/\d+/", "/<id>/", text.removeprefix("Internal Server Error: "))
            found.append(f"500 {path}: {last[:160]}")
        else:
            found.append(f"{record['logger']}: {_DIGITS.sub('N', text)[:120]}")
        i = j
    return found


def chaos_run(options: Options) -> Result:
    """Set up, run the clients, faults and sweeps, heal, drain, sweep, check. The caller owns the database."""
    from django.core.management import call_command
    from django.db import connection

    started = time.monotonic()
    rng = random.Random(options.seed)
    world = build_world(options, rng)
    progress(f"{len(world.members)} members, {len(world.products)} products, a lottery")
    record = Record()
    with running_stack(world, options) as stack:
        clients = [
            Client(n, world, stack, record, random.Random(options.seed * 1000 + n), options)
            for n in range(options.clients)
        ]
        logins = sum(c.login() for c in clients)
        make_expiring_lots(world, options, rng)
        progress(
            f"{logins} of {len(clients)} members signed in, {world.expiring_lots} lots expiring in the run; "
            f"running {options.seconds:.0f} s"
        )
        until = time.monotonic() + options.seconds
        threads = [threading.Thread(target=c.run, args=(until,), name=f"client-{c.n}") for c in clients]
        threads.append(threading.Thread(target=fault_loop, args=(stack, record, rng, options, until), name="faults"))
        threads.append(threading.Thread(target=sweep_loop, args=(stack, record, options, until), name="sweeps"))
        for thread in threads:
            thread.daemon = True
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, until - time.monotonic() + HTTP_TIMEOUT * 4))
        progress(f"{len(record.ops)} operations, {len(record.faults)} faults; healing and draining")
        left = drain(stack, options)
        connection.close()
        call_command("points_expire", verbosity=0)
        record.classify()
        checks = check_invariants(world, record, stack)
        errors = server_tracebacks(stack.gunicorn.log)
    return Result(options, world, record, checks, left, time.monotonic() - started, logins, errors, stack.logs)


# --- Report ----------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def render(result: Result, info: dict[str, str] | None) -> str:
    o = result.options
    by_kind: dict[str, list[Op]] = defaultdict(list)
    for op in result.record.ops:
        by_kind[op.kind].append(op)
    lines = []
    if info is not None:
        lines += [f"Written by `{common.command_line()}`.", "", common.machine_table(info), ""]
    lines += [
        f"{o.clients} clients for {o.seconds:.0f} s (seed {o.seed}) against `gunicorn -w {o.gunicorn_workers}` "
        f"(DJANGO_DEBUG=0, 2 threads each), a Celery worker (prefork, {o.celery_concurrency} processes) and a "
        f"Redis of the run's own (cache, sessions' cache, broker), a fault every ~{o.fault_every:.0f} s. "
        f"{result.logins} members signed in through the sign-in form. Whole run {result.seconds:.0f} s.",
        "",
        "### Operations",
        "",
        "| operation | count | acked | refused | errors (in a fault window / outside) | sent twice | p50 | p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, ops in sorted(by_kind.items()):
        n = Counter(op.outcome for op in ops)
        inside = sum(1 for op in ops if op.outcome == "error" and op.during_fault)
        times = [op.seconds for op in ops]
        lines.append(
            f"| {kind} | {len(ops):,} | {n['acked']:,} | {n['refused']:,} | {n['error']:,} ({inside} / "
            f"{n['error'] - inside}) | {sum(op.replayed for op in ops):,} | {_ms(percentile(times, 0.5))} | "
            f"{_ms(percentile(times, 0.95))} |"
        )
    faults = result.fault_counts()
    lines += [
        "",
        "Refused: a 4xx the operation may get (too few points, sold out, already refunded in full, no form to "
        "submit). An error is a 5xx or no answer; the host API's calls are retried with the same key after one "
        "(at most twice, as docs/integration.md says), so an error here is one whose retries failed too.",
        "",
        "### Faults injected",
        "",
        "| fault | count |",
        "|---|---:|",
        *(f"| {kind} | {faults.get(kind, 0)} |" for kind in FAULT_KINDS),
        "",
        "### Invariants",
        "",
        "| invariant | result | found |",
        "|---|---|---|",
        *(f"| {c.name} | {'ok' if c.ok else '**FAILED**'} | {c.detail} |" for c in result.checks),
        "",
        f"Left undone after draining {o.drain_seconds:.0f} s: {result.left or 'nothing'}."
        + (
            " A row left *sending* was claimed by a job that died or was cancelled holding it (a worker killed, "
            "or Celery cancelling a late-acknowledged job when the broker connection drops): the claim lapses "
            "(e-mail 10 min, webhook 5 min) and the retry sweep sends it then."
            if any(key.endswith(" sending") for key in result.left)
            else ""
        ),
    ]
    outside = result.errors_outside_faults()
    overlapping = sum(op.during_fault for op in result.record.ops)
    lines += [
        f"Errors outside a fault window: {len(outside)}"
        + (": " + "; ".join(f"{op.kind} {op.status} {op.note}".strip() for op in outside[:5]) if outside else ".")
        + f" ({overlapping:,} of {len(result.record.ops):,} operations overlapped a fault window widened by "
        f"{FAULT_GRACE_SECONDS:.0f} s.)",
    ]
    no_answer = Counter(
        op.ids.get("no_answer", "other") for op in result.record.ops if op.outcome == "error" and op.status is None
    )
    if no_answer:
        lines += [f"No answer, why: {', '.join(f'{why} {n}' for why, n in no_answer.most_common())}."]
    answered_500 = Counter(e for e in result.server_errors if e.startswith("500 "))
    handled = Counter(e for e in result.server_errors if not e.startswith("500 "))
    if answered_500:
        lines += ["", "Answered 500 (gunicorn's log: the path, and the last exception of the chain):", ""]
        lines += [f"- {n} × `{text}`" for text, n in answered_500.most_common(8)]
    if handled:
        lines += ["", "Errors logged and handled (the request or job went on):", ""]
        lines += [f"- {n} × `{text}`" for text, n in handled.most_common(8)]
    lines += [
        "",
        "### Reproduce",
        "",
        "```sh",
        f"DATABASE_URL={EXAMPLE_DATABASE_URL} .venv/bin/python -m bench.chaos --clients 32 --seconds 60 --seed 1",
        "```",
    ]
    return "\n".join(lines)


def dump(result: Result, path: Path) -> None:
    """Every operation and fault (times relative to the first operation) and the logs' paths, as JSON:
    for looking into one run after the fact."""
    zero = min((op.started for op in result.record.ops), default=0.0)
    data = {
        "ops": [{**asdict(op), "started": op.started - zero} for op in result.record.ops],
        "faults": [{**asdict(f), "start": f.start - zero, "end": f.end - zero} for f in result.record.faults],
        "logs": [str(log) for log in result.logs],
    }
    path.write_text(json.dumps(data, indent=1, default=str))
    progress(f"wrote {len(data['ops'])} operations and {len(data['faults'])} faults to {path}")


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-every", type=float, default=3.0, help="mean seconds between faults")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/reliability.md alone")
    parser.add_argument("--dump", type=Path, help="also write every operation and fault to this JSON file")
    args = parser.parse_args(argv)
    options = Options(clients=args.clients, seconds=args.seconds, seed=args.seed, fault_every=args.fault_every)
    options.no_report = args.no_report  # type: ignore[attr-defined]
    options.dump = args.dump  # type: ignore[attr-defined]
    return options


def _hard_timeout(seconds: float) -> None:
    def expire(_signum, _frame):
        raise SystemExit(f"the chaos run took longer than {seconds:.0f} s: stopped")

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(int(seconds))


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")
    _hard_timeout(options.hard_timeout)
    common.setup()
    # One line per ledger entry (decision 0041) is for the servers' logs; the set-up's would bury the figures.
    logging.getLogger("points.ledger").setLevel(logging.WARNING)
    info = common.machine()
    truncate()
    result = chaos_run(options)
    signal.alarm(0)
    body = render(result, info)
    if getattr(options, "dump", None):
        dump(result, options.dump)  # type: ignore[attr-defined]
    print()
    print(body)
    if not getattr(options, "no_report", False):
        common.write_section(HEADING, body, path=REPORT_PATH)
        progress(f"wrote the {HEADING} section of {REPORT_PATH}")
    if not result.ok:
        raise SystemExit("an invariant failed (see above)")


if __name__ == "__main__":
    main()
