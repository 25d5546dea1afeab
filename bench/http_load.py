"""Load over HTTP: the production server (gunicorn) and an asyncio + httpx client that acts like browsers.

Reusable by any benchmark (bench.web, the flash-sale benchmark). The server runs in its own
processes; the client runs in the calling process, bounded in requests and in time, and only
ever talks to 127.0.0.1.

Server (the production profile)::

    static_root = collect_static(env)                    # collectstatic into a temporary STATIC_ROOT
    server = server_start(env=server_env(), workers=2)   # gunicorn -c gunicorn.conf.py pointsmall.wsgi
    ...
    server_stop(server)                                  # SIGTERM by PID, SIGKILL to its group if it lingers

``server_env()`` is the production settings (``DJANGO_DEBUG=0``) plus the one local override for
plain HTTP on loopback: TLS "ends at a proxy", so every request carries ``X-Forwarded-Proto:
https`` (``SECURE_PROXY_SSL_HEADER``) and ``X-Forwarded-For`` (one address per member, with
``ALLAUTH_TRUSTED_PROXY_COUNT=1``, so allauth's per-address sign-in limit sees members, not the
benchmark). The Secure session and CSRF cookies are therefore kept by this module and sent back
over plain HTTP to 127.0.0.1 (httpx's own cookie jar would drop them, and would mix members up).

Members and sessions::

    members = [Member(user_id=7, email="m7@bench.invalid", password="...")]
    sessions = login_many(server.base, members, concurrency=8)   # like a browser, see ``Browser.login``
    sessions = sessions_mint(server.base, members)                # in-process, for thousands of members

``sessions_mint`` writes the session the sign-in would write (same SECRET_KEY and cache as the
server: see ``server_env``) without the password hash's ~0.3 s of CPU per member; use it where
the sign-in is not what is measured.

Firing requests::

    results = burst(server.base, sessions, lambda session, i: Request("POST", "/checkin/record/"),
                    concurrency=64, deadline=30.0)
    stats = summarize(results)   # count, ok, rate (requests/s), p50, p99 (seconds), error kinds

``Request.data`` is a form (``application/x-www-form-urlencoded``); on a POST the session's CSRF
token is added as ``csrfmiddlewaretoken`` unless given. ``form_values(base, sessions, path)`` GETs a
page per session and returns its form's fields (hidden tokens, idempotency keys), to build the
POSTs before the timed burst starts. Each ``Result`` has ``status`` (None when no answer came),
``seconds``, ``error_kind`` (None when the status was expected; ``"timeout"``, ``"reset"``,
``"refused"``, ``"protocol"``, ``"deadline"`` (never sent: the burst's deadline passed) or
``"http"`` (an unexpected status)) and the ``Location`` of a redirect.

Django must be set up before ``server_env`` (it passes on the connected database and the secret
key). ``login_many``, ``form_values`` and ``burst`` each run their own event loop; inside one
coroutine, share a ``Browser`` (one connection pool) with ``login_many_async``,
``form_values_async`` and ``burst_async``. ORM calls made from that coroutine (checks between
bursts) need ``DJANGO_ALLOW_ASYNC_UNSAFE`` in this process only (``bench.web.web_run`` shows how).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from bench.common import percentile, progress

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 60
REQUEST_TIMEOUT = 30.0
CSRF_COOKIE = "csrftoken"
# httpx logs every request at INFO: thousands of lines that would bury the benchmark's own.
logging.getLogger("httpx").setLevel(logging.WARNING)
SESSION_COOKIE = "sessionid"


# --- The server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """The origin browsers see (TLS ends at the proxy): what CSRF's Origin/Referer check expects."""
        return f"https://127.0.0.1:{self.port}"


def server_env(base: dict[str, str] | None = None, *, secret_key: str | None = None) -> dict[str, str]:
    """The server's environment: ``base`` (default: this process's) with the production settings.

    Sets DJANGO_DEBUG=0, ALLOWED_HOSTS 127.0.0.1, one trusted proxy (X-Forwarded-For), the
    secrets this process shares with the server (host clients' keys, PIN peppers) and
    DATABASE_URL and DJANGO_SECRET_KEY of this process (Django set up): minting sessions needs the
    server to read the database and the signatures this process writes.
    """
    from django.conf import settings

    from bench import common

    source = dict(base if base is not None else os.environ)
    source.pop("DJANGO_SETTINGS_MODULE", None)
    source.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return {
        **source,
        # The database this process is connected to (the pytest database in tests).
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECRET_KEY": secret_key or settings.SECRET_KEY,
        "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
        # Every simulated member sends from 127.0.0.1: the per-address limits (docs/decisions/0051)
        # would turn a crowd into one client. The per-member limits stay on.
        "PIN_IP_RATE_LIMIT": "",
        "CHECKIN_IP_RATE_LIMIT": "",
        **common.shared_secrets_env(),
        "PYTHONWARNINGS": "ignore:No directory at",
    }


def database_url() -> str:
    """The URL of the database Django is connected to."""
    from django.db import connection

    s = connection.settings_dict
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def collect_static(env: dict[str, str]) -> Path:
    """``manage.py collectstatic`` into a new temporary STATIC_ROOT (the release step production runs);
    sets DJANGO_STATIC_ROOT in ``env`` and returns the directory (the caller removes it)."""
    root = Path(tempfile.mkdtemp(prefix="bench-static-"))
    env["DJANGO_STATIC_ROOT"] = str(root)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return root


def server_start(
    *,
    env: dict[str, str],
    workers: int | None = None,
    threads: int | None = None,
    ready: Callable[[Server], bool] | None = None,
    start_seconds: float = START_SECONDS,
) -> Server:
    """``gunicorn -c gunicorn.conf.py pointsmall.wsgi`` (the repository's config) on a free 127.0.0.1 port.

    ``env`` is the whole environment (see ``server_env``); ``workers``/``threads``, when given,
    override the config's (GUNICORN_WORKERS/GUNICORN_THREADS; default 2 × cores + 1 workers
    of 2 threads). Waits until ``ready(server)`` is true
    (default: ``GET /healthz`` answers 200), at most ``start_seconds``; raises SystemExit with the
    log's path when gunicorn stops or never answers.
    """
    import httpx

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    env = dict(env)
    if workers is not None:
        env["GUNICORN_WORKERS"] = str(workers)
    if threads is not None:
        env["GUNICORN_THREADS"] = str(threads)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "pointsmall.wsgi",
        "-b",
        f"127.0.0.1:{port}",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (fixed arguments, no outside input)
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log)

    def healthy(server: Server) -> bool:
        return httpx.get(server.base + "/healthz", timeout=2.0, trust_env=False).status_code == 200

    check = ready or healthy
    deadline = time.monotonic() + start_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn stopped at start (exit {process.returncode}); its log: {log}")
        with contextlib.suppress(Exception):
            if check(server):
                progress(f"gunicorn {process.pid} answers on port {port} (log {log})")
                return server
        time.sleep(0.25)
    server_stop(server)
    raise SystemExit(f"gunicorn did not answer within {start_seconds:.0f} s; its log: {log}")


def server_stop(server: Server) -> None:
    """SIGTERM to the master (by its PID), then SIGKILL to its process group if it lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
    progress(f"gunicorn {server.process.pid} stopped (exit {server.process.returncode})")


@contextlib.contextmanager
def running_server(env: dict[str, str], **options: Any):
    server = server_start(env=env, **options)
    try:
        yield server
    finally:
        server_stop(server)


# --- Members, sessions, requests ------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    user_id: int
    email: str
    password: str


@dataclass
class Session:
    """One browser: the member, its cookies (name → value) and the address it comes from."""

    member: Member
    cookies: dict[str, str] = field(default_factory=dict)
    forwarded_for: str = "10.0.0.1"

    @property
    def csrf(self) -> str:
        return self.cookies.get(CSRF_COOKIE, "")

    @property
    def signed_in(self) -> bool:
        return SESSION_COOKIE in self.cookies


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    data: dict[str, str] | None = None
    # Statuses that count as success: pages answer 200, forms redirect (302) when they succeed.
    expect: tuple[int, ...] = (200, 302)


@dataclass(frozen=True)
class Result:
    status: int | None
    seconds: float
    error_kind: str | None  # None, "timeout", "reset", "refused", "protocol", "deadline", "http"
    location: str = ""
    started: float = 0.0  # time.monotonic() when sent
    busy: int = 0  # 503 + Retry-After answers waited out before this answer (``retry_busy``)

    @property
    def ok(self) -> bool:
        return self.error_kind is None


def address_for(n: int) -> str:
    """A distinct private address per member (X-Forwarded-For), 10.x.y.z."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"


def _error_kind(error: Exception) -> str:
    import httpx

    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        return "refused"
    if isinstance(error, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        # The server closed or reset the connection mid-request (a worker killed, a backlog full).
        return "reset"
    return "protocol"


class Browser:
    """Many browsers sharing one connection pool: the cookies live in each ``Session``, never in the pool."""

    def __init__(self, base: str, *, connections: int = 64, timeout: float = REQUEST_TIMEOUT):
        import httpx

        if not base.startswith("http://127.0.0.1:"):
            raise ValueError(f"the load generator only talks to 127.0.0.1 over plain HTTP, not {base!r}")
        self.base = base
        self.origin = "https://" + base.removeprefix("http://")
        # A jar that accepts nothing: cookies are per Session, sent by hand (see the module docstring).
        jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self.client = httpx.AsyncClient(
            base_url=base,
            timeout=timeout,
            cookies=jar,
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def _headers(self, session: Session) -> dict[str, str]:
        headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": session.forwarded_for,
            "Origin": self.origin,
            "Referer": self.origin + "/",
            "Accept-Language": "zh-hans",
        }
        if session.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
        return headers

    @staticmethod
    def _keep_cookies(session: Session, response) -> None:
        for header in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            with contextlib.suppress(Exception):
                parsed.load(header)
            for name, morsel in parsed.items():
                expired = morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"])
                if expired or not morsel.value:
                    session.cookies.pop(name, None)
                else:
                    session.cookies[name] = morsel.value

    async def send(self, session: Session, request: Request) -> tuple[Result, Any]:
        """One request as ``session``'s browser; (result, the httpx response or None when no answer)."""
        import httpx

        data = request.data
        if request.method == "POST":
            data = {"csrfmiddlewaretoken": session.csrf, **(data or {})}
        started = time.monotonic()
        try:
            response = await self.client.request(
                request.method, request.path, data=data, headers=self._headers(session)
            )
        except httpx.HTTPError as error:  # every transport failure becomes a counted kind
            return Result(None, time.monotonic() - started, _error_kind(error), started=started), None
        seconds = time.monotonic() - started
        self._keep_cookies(session, response)
        kind = None if response.status_code in request.expect else "http"
        return Result(response.status_code, seconds, kind, response.headers.get("location", ""), started), response

    async def form(self, session: Session, path: str) -> dict[str, str]:
        """GET ``path`` and return the fields of its forms (``form_fields``); {} unless it answered 200."""
        _result, response = await self.send(session, Request("GET", path, expect=(200,)))
        if response is None or response.status_code != 200:
            return {}
        return form_fields(response.text)

    async def login(self, member: Member, *, n: int = 0) -> Session:
        """Sign in as a browser does: GET the sign-in page (CSRF cookie and token), POST the e-mail and
        password, keep the session cookie. Raises LoginFailed when the POST does not redirect away."""
        session = Session(member, forwarded_for=address_for(n + 1))
        fields = await self.form(session, "/accounts/login/")
        token = fields.get("csrfmiddlewaretoken")
        if not token:
            raise LoginFailed(f"{member.email}: the sign-in page had no CSRF token")
        result, _response = await self.send(
            session,
            Request(
                "POST",
                "/accounts/login/",
                {"csrfmiddlewaretoken": token, "login": member.email, "password": member.password},
                expect=(302,),
            ),
        )
        if not result.ok or "/accounts/login" in result.location or not session.signed_in:
            raise LoginFailed(f"{member.email}: sign-in answered {result.status} → {result.location!r}")
        return session


class LoginFailed(Exception):
    pass


_INPUT = re.compile(r"<input[^>]*>", re.IGNORECASE)


def form_fields(html: str) -> dict[str, str]:
    """name → value of every ``<input>`` that has both (hidden tokens, keys, confirmations, the checked radio last)."""
    values = {}
    for tag in _INPUT.findall(html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and value:
            values[name.group(1)] = value.group(1).replace("&amp;", "&")
    return values


async def _pool(jobs: Iterable[Callable[[], Awaitable[Any]]], concurrency: int) -> list[Any]:
    """Run the jobs, at most ``concurrency`` at a time; results in the jobs' order."""
    jobs = list(jobs)
    results: list[Any] = [None] * len(jobs)
    cursor = iter(range(len(jobs)))

    async def worker() -> None:
        for index in cursor:
            results[index] = await jobs[index]()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(jobs))))))
    return results


async def login_many_async(browser: Browser, members: Sequence[Member], concurrency: int = 8) -> list[Session]:
    return await _pool(
        [lambda member=member, n=n: browser.login(member, n=n) for n, member in enumerate(members)], concurrency
    )


def login_many(base: str, members: Sequence[Member], *, concurrency: int = 8) -> list[Session]:
    """Sign every member in over HTTP (see ``Browser.login``); sessions in the members' order.
    Raises LoginFailed on the first member that cannot sign in."""

    async def run() -> list[Session]:
        browser = Browser(base, connections=concurrency)
        try:
            return await login_many_async(browser, members, concurrency)
        finally:
            await browser.aclose()

    return asyncio.run(run())


def sessions_mint(base: str, members: Sequence[Member]) -> list[Session]:
    """Sessions written in-process as a sign-in writes them (needs Django set up with the server's
    DJANGO_SECRET_KEY, database and cache), each with a CSRF cookie of its own. For thousands of
    members, where the password hash's CPU would dwarf what is measured."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django.utils.crypto import get_random_string

    users = get_user_model().objects.in_bulk([member.user_id for member in members])
    sessions = []
    for n, member in enumerate(members):
        user = users[member.user_id]
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        # An unmasked 32-character secret is what the CSRF cookie holds; the same string is a valid token.
        csrf = get_random_string(32)
        sessions.append(
            Session(member, {SESSION_COOKIE: store.session_key, CSRF_COOKIE: csrf}, forwarded_for=address_for(n + 1))
        )
    return sessions


async def form_values_async(browser: Browser, sessions: Sequence[Session], path: str, concurrency: int = 8):
    return await _pool([lambda s=s: browser.form(s, path) for s in sessions], concurrency)


def form_values(base: str, sessions: Sequence[Session], path: str, *, concurrency: int = 8) -> list[dict[str, str]]:
    """GET ``path`` as each session; each page's form fields (``form_fields``), in the sessions' order."""

    async def run():
        browser = Browser(base, connections=concurrency)
        try:
            return await form_values_async(browser, sessions, path, concurrency)
        finally:
            await browser.aclose()

    return asyncio.run(run())


RequestFactory = Callable[[Session, int], Request]


async def burst_async(
    browser: Browser,
    sessions: Sequence[Session],
    request_factory: RequestFactory,
    *,
    concurrency: int,
    deadline: float,
    total: int | None = None,
    retry_busy: int = 0,
) -> list[Result]:
    """``total`` requests (default one per session), request ``i`` built by ``request_factory(sessions[i %
    len(sessions)], i)`` and sent as that session, at most ``concurrency`` in flight. ``deadline``:
    seconds from now after which nothing more is sent (those count as ``"deadline"``).

    ``retry_busy``: a 503 with ``Retry-After`` (admission control's "busy, try again in N s") is
    waited out and the same request sent again, up to this many times, as a member's browser
    would; the Result then times the whole attempt, from the first send to the last answer."""
    total = len(sessions) if total is None else total
    until = time.monotonic() + deadline

    def job(i: int):
        async def run() -> Result:
            if time.monotonic() >= until:
                return Result(None, 0.0, "deadline", started=time.monotonic())
            session = sessions[i % len(sessions)]
            request = request_factory(session, i)
            first = time.monotonic()
            busy = 0
            while True:
                result, response = await browser.send(session, request)
                retry_after = response.headers.get("retry-after") if response is not None else None
                if result.status != 503 or retry_after is None or busy >= retry_busy:
                    break
                busy += 1
                await asyncio.sleep(float(retry_after))
            if busy:
                result = dataclasses.replace(result, seconds=time.monotonic() - first, started=first, busy=busy)
            return result

        return run

    return await _pool([job(i) for i in range(total)], concurrency)


def burst(
    base: str,
    sessions: Sequence[Session],
    request_factory: RequestFactory,
    *,
    concurrency: int,
    deadline: float,
    total: int | None = None,
) -> list[Result]:
    """Fire requests as logged-in members (see ``burst_async``); a Result per request, in order."""

    async def run() -> list[Result]:
        browser = Browser(base, connections=concurrency)
        try:
            return await burst_async(
                browser, sessions, request_factory, concurrency=concurrency, deadline=deadline, total=total
            )
        finally:
            await browser.aclose()

    return asyncio.run(run())


@dataclass(frozen=True)
class Summary:
    count: int
    ok: int
    seconds: float  # first send to last answer
    p50: float  # seconds, over answered requests
    p99: float
    errors: dict[str, int]  # error kind (and "http 503" style statuses) → count

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def summarize(results: Sequence[Result]) -> Summary:
    sent = [r for r in results if r.error_kind != "deadline"]
    span = max((r.started + r.seconds for r in sent), default=0.0) - min((r.started for r in sent), default=0.0)
    latencies = [r.seconds for r in sent if r.status is not None]
    errors = Counter(f"http {r.status}" if r.error_kind == "http" else str(r.error_kind) for r in results if not r.ok)
    return Summary(
        count=len(results),
        ok=sum(r.ok for r in results),
        seconds=span,
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        errors=dict(errors),
    )
