"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py pointsmall.wsgi`."""

import multiprocessing
import os

from pointsmall.logs import gunicorn_logging_config

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # behind a reverse proxy
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then so a slow leak can never grow without bound
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# The access line names the request id the app echoed (X-Request-ID), so it joins the app's lines.
# The path is %(U)s, without the query string: admin searches put e-mails and phone numbers
# there (?q=alice@example.com), and logs must not hold them.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'
# gunicorn's own lines (start-up, worker boots, access) in LOG_FORMAT, UTC times like the app's.
logconfig_dict = gunicorn_logging_config(os.environ.get("LOG_FORMAT", "text"))
