"""Log lines: one format for every process, and a request id from the proxy to the Celery task.

- ``LOG_FORMAT=json`` (production) prints one JSON object per line (python-json-logger);
  ``text`` (the default, for the demo and development) prints readable lines. Both carry
  ``request_id``. One handler, at the root: Django's own loggers propagate to it, so nothing
  prints twice (docs/decisions/0041).
- The request id is the proxy's ``X-Request-ID`` when it is a sane token, else a new one;
  it is set when the request starts, echoed in the response's ``X-Request-ID`` header, and
  cleared when the response is finished, so Django's own "Not Found" / "Internal Server Error"
  lines (logged after the middleware chain) carry it too.
- A task enqueued while a request id is set carries it in a message header
  (``before_task_publish``); the worker sets it around the task (``task_prerun`` /
  ``task_postrun``). A task with no request behind it (beat, a command) gets an id of its own.
- Celery is told not to configure logging (``setup_logging``): workers and beat log through
  Django's ``LOGGING``, in the same format as the web.
- Every line's time is ISO 8601 in UTC with a ``Z`` (``2026-12-01T07:26:02.123Z``), in both
  formats and every process: Django sets ``TZ`` (TIME_ZONE) only in the processes that load
  it, so local times were Shanghai in gunicorn's workers and UTC in its master, unmarked.
- Python warnings go through the same handler (``logging.captureWarnings``), as one line
  (one JSON object) each, logger ``py.warnings``.

Imported by ``pointsmall.celery`` (the signal hookups must exist before a worker configures
logging) and referenced by ``settings.LOGGING`` and ``gunicorn.conf.py``.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from django.core.signals import request_finished, request_started
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# What we accept from the proxy: uuids, nginx's $request_id, base64-ish tokens. Anything else
# (too long, spaces, control characters) is replaced, so a client cannot forge log lines.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")
NO_REQUEST = "-"

_request_id: ContextVar[str | None] = ContextVar("pointsmall_request_id", default=None)
_task_tokens: dict[str, Any] = {}

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# The fields of every JSON line; ``extra=`` fields of a call are added after them.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


def request_id_current() -> str | None:
    """The id of the request (or task) this code runs for, or None outside one."""
    return _request_id.get()


def request_id_from(incoming: str | None) -> str:
    """The proxy's id when it is a sane token, else a new random one (32 hex digits)."""
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def _utc_iso(record: logging.LogRecord) -> str:
    """The record's time as ISO 8601 in UTC, to the millisecond: ``2026-12-01T07:26:02.123Z``."""
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT`` with the time in UTC, ISO 8601 (the same zone in every process)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_iso(record)


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with ``time`` in UTC, ISO 8601, and a ``request`` extra
    (Django's request loggers pass the request) printed as method and path, no query string."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_iso(record)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        request = log_data.get("request")
        if request is not None and hasattr(request, "path") and hasattr(request, "method"):
            # The request's repr carries its query string: admin searches put e-mails there.
            log_data["request"] = f"{request.method} {request.path}"


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record a handler emits (``-`` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or NO_REQUEST
        return True


_PATH_QUERY = re.compile(r"(/[^\s?]*)\?\S*")


class NoQueryStringFilter(logging.Filter):
    """Drops the query string of every path in a record's message (``/admin/…/?q=alice@…`` →
    ``/admin/…/``): gunicorn's own error lines ("Error handling request /x?q=…") print the whole
    URI, and admin searches put e-mails and phone numbers there."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _PATH_QUERY.sub(r"\1", message), ()
        return True


def logging_config(fmt: str, level: str) -> dict:
    """``settings.LOGGING``: one console handler at the root in ``fmt`` ("text" or "json").

    Also routes Python warnings into logging (``logging.captureWarnings``): they print through
    that handler, one record each, instead of as raw multi-line text on stderr.

    Raises ValueError for another format (a typo must not silently print text in production).
    """
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    logging.captureWarnings(True)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "pointsmall.logs.RequestIdFilter"}},
        "formatters": {
            "text": {"()": "pointsmall.logs.TextFormatter", "format": TEXT_FORMAT},
            "json": {
                "()": "pointsmall.logs.JsonFormatter",
                "format": JSON_FIELDS,
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
        # Django's default config gives the "django" logger a console handler of its own and
        # lets it propagate to the root too: every line twice. One handler, at the root.
        # Django's default also gives "py.warnings" that console handler (shown under DEBUG).
        "loggers": {name: {"handlers": [], "level": level, "propagate": True} for name in ("django", "py.warnings")},
    }


def gunicorn_logging_config(fmt: str) -> dict:
    """gunicorn's own loggers (its error log and the access log) in ``fmt``, text or JSON, with
    the app's time stamps (UTC; gunicorn's master never loads Django's TIME_ZONE). Its loggers
    do not propagate, so their lines are printed once."""
    config = logging_config(fmt, "INFO")
    config["filters"]["no_query_string"] = {"()": "pointsmall.logs.NoQueryStringFilter"}
    config["loggers"] = {
        name: {"handlers": ["console"], "level": "INFO", "propagate": False, "filters": ["no_query_string"]}
        for name in ("gunicorn.error", "gunicorn.access")
    }
    return config


# --- Requests -------------------------------------------------------------------------


def _request_started(sender: object, environ: dict | None = None, scope: dict | None = None, **kwargs) -> None:
    incoming = None
    if environ is not None:
        incoming = environ.get("HTTP_X_REQUEST_ID")
    elif scope is not None:
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
    _request_id.set(request_id_from(incoming))


def _request_finished(sender: object, **kwargs) -> None:
    _request_id.set(None)


class RequestIdMiddleware:
    """Echoes the request id in the response (``X-Request-ID``) and on ``request.request_id``.

    First in ``MIDDLEWARE``. The id itself is set when the request starts (``request_started``),
    before any middleware, and cleared when it is finished.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        rid = _request_id.get()
        if rid is None:  # a handler that sends no request_started
            rid = request_id_from(request.headers.get(HEADER))
            _request_id.set(rid)
        request.request_id = rid
        response = self.get_response(request)
        response[HEADER] = rid
        return response


# --- Celery ---------------------------------------------------------------------------


def _task_publish(headers: dict | None = None, **kwargs) -> None:
    rid = _request_id.get()
    if rid and headers is not None:
        headers.setdefault(TASK_HEADER, rid)


def _task_prerun(task_id: str | None = None, task: Any = None, **kwargs) -> None:
    carried = task.request.get(TASK_HEADER) if task is not None else None
    if carried is None and _request_id.get() is not None:
        return  # run in-process (eager) inside a request: its id is already set
    token = _request_id.set(request_id_from(carried))
    if task_id:
        _task_tokens[task_id] = token


def _task_postrun(task_id: str | None = None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        _request_id.reset(token)


def _keep_djangos_logging(**kwargs) -> None:
    """A receiver here tells Celery not to replace the root handler nor redirect stdout: its
    workers and beat log through ``settings.LOGGING`` (configured by django.setup())."""


request_started.connect(_request_started, dispatch_uid="pointsmall.logs.request_started")
request_finished.connect(_request_finished, dispatch_uid="pointsmall.logs.request_finished")
before_task_publish.connect(_task_publish, weak=False, dispatch_uid="pointsmall.logs.task_publish")
task_prerun.connect(_task_prerun, weak=False, dispatch_uid="pointsmall.logs.task_prerun")
task_postrun.connect(_task_postrun, weak=False, dispatch_uid="pointsmall.logs.task_postrun")
setup_logging.connect(_keep_djangos_logging, weak=False, dispatch_uid="pointsmall.logs.setup_logging")
