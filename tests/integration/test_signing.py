"""The signature gate of the host API: every way a request can be unsigned, forged, replayed
or out of date is refused with its code, and nothing is written."""

from __future__ import annotations

import time

import pytest

from pointsmall.integration import services
from pointsmall.integration.models import Client, UsedNonce
from tests.integration.host import HostApi, make_host

pytestmark = pytest.mark.django_db

PATH = "/ping"


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]


def test_unsigned_request_is_401_signature_missing(host):
    response = host.http.get("/api/v1" + PATH)
    _refused(response, 401, "signature_missing")
    assert not UsedNonce.objects.exists()


def test_wrong_secret_is_401_bad_signature(host):
    forger = HostApi(key_id=host.key_id, secret="not-the-secret", client_id=host.client_id, http=host.http)
    _refused(forger.call("GET", PATH), 401, "bad_signature")
    assert not UsedNonce.objects.exists()


def test_unknown_key_is_401(host):
    stranger = HostApi(key_id="mk_0000000000000000", secret=host.secret, client_id=0, http=host.http)
    _refused(stranger.call("GET", PATH), 401, "unknown_client")


def test_old_and_future_timestamps_are_401(host):
    _refused(host.call("GET", PATH, timestamp=int(time.time()) - 301), 401, "stale_timestamp")
    _refused(host.call("GET", PATH, timestamp=int(time.time()) + 301), 401, "stale_timestamp")
    assert not UsedNonce.objects.exists()


def test_reused_nonce_is_401(host):
    first = host.call("GET", PATH, nonce="n" * 20)
    assert first.status_code == 200
    _refused(host.call("GET", PATH, nonce="n" * 20), 401, "nonce_reused")


def test_malformed_nonce_is_401(host):
    _refused(host.call("GET", PATH, nonce="short"), 401, "invalid_nonce")


def test_other_clients_key_cannot_use_this_secret(host):
    other = make_host("Other shop")
    mixed = HostApi(key_id=other.key_id, secret=host.secret, client_id=other.client_id, http=host.http)
    _refused(mixed.call("GET", PATH), 401, "bad_signature")


def test_disabled_client_is_403(host):
    Client.objects.filter(pk=host.client_id).update(enabled=False)
    _refused(host.call("GET", PATH), 403, "client_disabled")


def test_address_outside_allowed_ips_is_403(db):
    host = make_host(allowed_ips="203.0.113.0/24")
    _refused(host.call("GET", PATH), 403, "address_not_allowed")


def test_body_is_covered_by_the_signature(host):
    body = b'{"amount": "10.00"}'
    headers = host.headers("GET", "/api/v1/ping", body)
    response = host.http.generic(
        "GET", "/api/v1/ping", data=b'{"amount": "99.00"}', content_type="application/json", headers=headers
    )
    _refused(response, 401, "bad_signature")


def test_rotated_secret_works_during_overlap_and_not_after(host, settings):
    new_secret = services.client_secret_rotate(client_id=host.client_id, overlap_hours=1)
    assert host.call("GET", PATH).status_code == 200  # the old secret, inside the overlap
    rotated = HostApi(key_id=host.key_id, secret=new_secret, client_id=host.client_id, http=host.http)
    assert rotated.call("GET", PATH).status_code == 200
    services.client_secret_rotate(client_id=host.client_id, overlap_hours=0)
    _refused(host.call("GET", PATH), 401, "bad_signature")
    _refused(rotated.call("GET", PATH), 401, "bad_signature")


def test_signed_ping_names_the_client(host):
    response = host.call("GET", PATH)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "client": "Shop", "key_id": host.key_id}
    assert UsedNonce.objects.filter(client_id=host.client_id).count() == 1


def test_a_path_signs_the_same_whether_or_not_the_client_escapes_colons_and_at_signs(host):
    from pointsmall.integration.models import HostMember
    from tests.factories import MemberFactory

    HostMember.objects.create(client_id=host.client_id, external_id="shop:u@1", user=MemberFactory())
    assert host.call("GET", "/members/shop:u@1/balance").status_code in {200, 404}
    escaped = host.call("GET", "/members/shop%3Au%401/balance")
    assert escaped.status_code != 401, escaped.content


def test_instants_are_written_to_the_second_in_business_time():
    from datetime import UTC, datetime

    from pointsmall.integration import formats

    assert formats.instant(datetime(2026, 12, 1, 4, 15, 0, 61060, tzinfo=UTC)) == "2026-12-01T12:15:00+08:00"
    assert formats.money(5) == "5.00"
