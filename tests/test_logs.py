"""Log lines carry the request id into Celery tasks; every ledger write is logged once; JSON
logs in production print each line once (issue #14 "Operations", docs/decisions/0041)."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import subprocess
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.signals import request_finished, request_started
from django.urls import reverse

from points import services
from pointsmall.kernel.jobs import job
from pointsmall.logs import RequestIdFilter, logging_config, request_id_current
from tests.processes import PYTHON, ROOT, process_env, wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def records(caplog):
    """Captured records with the id the real handler's filter puts on them."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())
    return caplog


def test_every_line_of_a_request_carries_its_id_and_the_response_echoes_it(client, member, records):
    client.force_login(member)
    records.clear()

    response = client.get("/no-such-page/", headers={"X-Request-ID": "req-7f3a.1"})

    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-7f3a.1"
    assert "Not Found: /no-such-page/" in [r.getMessage() for r in records.records]
    assert {r.request_id for r in records.records} == {"req-7f3a.1"}
    assert request_id_current() is None  # cleared once the response is finished


def test_a_ledger_write_in_a_request_is_logged_with_the_requests_id(transactional_db, client, member, records):
    # transactional_db: the service commits inside the request, as in production, so the line
    # (written once the entry commits) is logged while the request is still running.
    client.force_login(member)
    records.clear()

    response = client.post(reverse("checkin_record"), headers={"X-Request-ID": "checkin-1"})

    assert response.status_code in (200, 302)
    ledger = [r for r in records.records if r.name == "points.ledger"]
    assert len(ledger) == 1
    assert ledger[0].request_id == "checkin-1"
    assert response["X-Request-ID"] == "checkin-1"


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 129, "bad\nline", "é"])
def test_a_missing_or_insane_request_id_is_replaced_by_a_new_one(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming} if incoming else {})

    assert HEX32.fullmatch(response["X-Request-ID"])


def test_one_ledger_write_is_one_log_line_with_ids_kind_points_and_reference(
    member, records, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.points_earn(user_id=member.pk, amount=120, idempotency_key="k1", reference="order:77")

    lines = [r for r in records.records if r.name == "points.ledger"]
    assert len(lines) == 1
    line = lines[0]
    assert line.levelno == logging.INFO
    assert (line.entry_id, line.kind, line.points, line.reference) == (receipt.entry_id, "earn", 120, "order:77")
    assert line.account_id == member.points_account.pk
    assert member.email not in line.getMessage()


def test_a_replayed_write_and_a_rolled_back_one_log_nothing(member, records, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.points_earn(user_id=member.pk, amount=5, idempotency_key="once")
    records.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.points_earn(user_id=member.pk, amount=5, idempotency_key="once")

    assert [r for r in records.records if r.name == "points.ledger"] == []


@pytest.mark.parametrize("use_sql", [False, pytest.param(True, marks=pytest.mark.postgres)])
def test_an_expiry_batch_logs_one_line_per_entry_it_writes(
    member, other_member, records, django_capture_on_commit_callbacks, use_sql
):
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=SHANGHAI), tick=False):
        services.points_earn(user_id=member.pk, amount=100, idempotency_key="a")
        services.points_earn(user_id=other_member.pk, amount=30, idempotency_key="b")
    records.clear()

    with (
        time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=SHANGHAI), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.points_expire(use_sql=use_sql)

    lines = [r for r in records.records if r.name == "points.ledger"]
    assert sorted((r.account_id, r.kind, r.points) for r in lines) == sorted(
        [(member.points_account.pk, "expire", -100), (other_member.points_account.pk, "expire", -30)]
    )
    assert len({r.entry_id for r in lines}) == 2


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config("xml", "INFO")


# --- Celery: the id travels with the task -----------------------------------------------------


@job(name="tests.logs.log_a_line", idempotent="logs a line and returns the request id: no effect to repeat")
def log_a_line(text: str) -> str | None:
    logging.getLogger("tests.logs").info("task says %s", text)
    return request_id_current()


@pytest.mark.celery
def test_a_task_enqueued_in_a_request_logs_with_the_requests_id(celery_worker, records):
    request_started.send(sender=__name__, environ={"HTTP_X_REQUEST_ID": "from-the-proxy-42"})
    try:
        result = log_a_line.delay("hello")
    finally:
        request_finished.send(sender=__name__)

    assert result.get(timeout=30) == "from-the-proxy-42"
    [line] = [r for r in records.records if r.getMessage() == "task says hello"]
    assert line.request_id == "from-the-proxy-42"


@pytest.mark.celery
def test_a_task_enqueued_outside_a_request_gets_an_id_of_its_own(celery_worker, records):
    first = log_a_line.delay("one").get(timeout=30)
    second = log_a_line.delay("two").get(timeout=30)

    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second
    assert request_id_current() is None


# --- The real handler: gunicorn with LOG_FORMAT=json -------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_json_logs_print_every_line_once_as_json_with_the_request_id(tmp_path):
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = process_env(
        LOG_FORMAT="json",
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
    )
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "pointsmall.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def up() -> bool:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
            except OSError:
                return False
            return True

        # Up first, then exactly one 404: a poll that timed out on a loaded machine would have been
        # answered (and logged) by the server all the same, and counted here as a second line.
        wait_for(up, seconds=60, what="gunicorn answers /healthz")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/nowhere-x/?q=alice@example.com", headers={"X-Request-ID": "gw-1"}
        )
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=60)  # noqa: S310 (a local URL)
        assert answer.value.code == 404 and answer.value.headers["X-Request-ID"] == "gw-1"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is JSON, gunicorn's own too
    not_found = [p for p in parsed if p["message"] == "Not Found: /nowhere-x/"]
    assert len(not_found) == 1  # one handler: Django's line is not printed twice
    assert (not_found[0]["request_id"], not_found[0]["level"], not_found[0]["logger"]) == (
        "gw-1",
        "WARNING",
        "django.request",
    )
    access = [p["message"] for p in parsed if p["logger"] == "gunicorn.access" and "gw-1" in p["message"]]
    assert access and '"GET /nowhere-x/ HTTP/1.1" 404' in access[0]
    assert "alice@example.com" not in log.read_text()  # the query string (personal data) is not logged
    # Every line, gunicorn's master's too, carries an ISO time in UTC (the workers run in TIME_ZONE).
    times = [datetime.fromisoformat(p["time"]) for p in parsed]
    assert {t.utcoffset() for t in times} == {timedelta(0)}
    assert {p["logger"] for p in parsed} >= {"gunicorn.error", "gunicorn.access", "django.request"}


def test_a_text_line_starts_with_an_iso_time_in_utc_and_warnings_go_through_the_handler():
    """Text format too: the time carries its zone; a Python warning is one line of the handler."""
    script = (
        "import django, logging, warnings; django.setup(); "
        "logging.getLogger('x').warning('hello'); warnings.warn('old thing', DeprecationWarning, stacklevel=1)"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [PYTHON, "-W", "always", "-c", script],
        cwd=ROOT,
        env=process_env(LOG_FORMAT="text", TIME_ZONE="Asia/Shanghai", DJANGO_SETTINGS_MODULE="pointsmall.settings"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    lines = done.stderr.splitlines()
    hello = next(line for line in lines if line.endswith(" WARNING x [-] hello"))
    stamp = datetime.fromisoformat(hello.split(" ", 1)[0])
    assert stamp.utcoffset() == timedelta(0)
    assert any(" WARNING py.warnings [-] " in line and "DeprecationWarning: old thing" in line for line in lines)
