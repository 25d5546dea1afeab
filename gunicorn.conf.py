"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py pointsmall.wsgi`.

docs/deploy.md ("gunicorn") explains each choice; docs/decisions/0044 why the queue is bounded
here and the overflow is answered by the application (503 + Retry-After), never by a reset.
"""

import multiprocessing
import os
import re

from pointsmall.logs import gunicorn_logging_config

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # behind a reverse proxy
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# A stopping worker (max_requests, SIGHUP, SIGTERM) finishes what it accepted within this: as long
# as a request may take, so the recycling of a worker never cuts an accepted request short.
graceful_timeout = timeout
# Connections one worker accepts at once (in work + queued in it + kept alive). gunicorn's default
# (1000) let one worker swallow hundreds of POSTs of a flash-sale crowd that it could not finish
# before it was recycled: it was killed at graceful_timeout and reset them all (issue #18).
# Bounded, a worker holds at most ~16 requests per thread (≈ 1.6 s of redemptions at ~50 ms, far
# inside graceful_timeout); the rest wait in the listen socket's backlog, which belongs to the
# master and outlives every worker, and are taken by the next free worker (or the new one).
worker_connections = threads * 16
# The kernel's queue of connections no worker accepted yet (capped by net.core.somaxconn).
backlog = 2048
keepalive = 5
max_requests = 2000  # recycle workers now and then so a slow leak can never grow without bound
max_requests_jitter = 200  # …not all at once
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# The access line names the request id the app echoed (X-Request-ID), so it joins the app's lines.
# The path is %(U)s, without the query string: admin searches put e-mails and phone numbers
# there (?q=alice@example.com), and logs must not hold them.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'
# gunicorn's own lines (start-up, worker boots, access) in LOG_FORMAT, UTC times like the app's.
logconfig_dict = gunicorn_logging_config(os.environ.get("LOG_FORMAT", "text"))


def on_starting(server):
    """One control socket per server (``gunicornc``): named after the address it listens on.

    gunicorn's default is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or
    ~/.gunicorn/gunicorn.ctl), so a second server on the same host and user (a second site, a
    benchmark, a test) took over the first one's socket, and ``gunicornc`` then reloaded or
    stopped the wrong server. Set here rather than as ``control_socket`` above because the
    address is only final once the command line (``-b``) has been read.
    """
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", "-".join(server.cfg.bind)).strip("-")
    server.cfg.set("control_socket", os.path.expanduser(f"~/.gunicorn/gunicorn-{name}.ctl"))
