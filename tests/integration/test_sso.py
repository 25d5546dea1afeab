"""GET /sso/login: a host's signed link signs its member in (免登录); every bad link is refused
with a page saying why, and writes nothing."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core import mail

from pointsmall.integration import signing
from pointsmall.integration.exceptions import RedirectNotAllowedError
from pointsmall.integration.models import Client, HostMember, UsedNonce
from pointsmall.integration.views import safe_redirect

pytestmark = pytest.mark.django_db

User = get_user_model()


def link(host, uid: str = "u1", *, secret: str | None = None, sign: str | None = None, **params) -> str:
    query = {"key": host.key_id, "uid": uid, "ts": str(int(time.time())), "nonce": secrets.token_hex(16), **params}
    query["sign"] = sign or signing.sign(secret or host.secret, signing.link_string(query))
    return "/sso/login?" + urlencode(query)


def _nothing_written(client) -> None:
    assert not User.objects.exists()
    assert not HostMember.objects.exists()
    assert not UsedNonce.objects.exists()
    assert SESSION_KEY not in client.session


def _refused(response, status: int, text: str) -> None:
    assert response.status_code == status
    assert "integration/sso_error.html" in [t.name for t in response.templates]
    assert text in response.content.decode()
    assert 'href="/"' in response.content.decode()


def test_good_link_creates_the_member_signs_in_and_redirects(host, client):
    response = client.get(link(host, "u1", redirect="/mall/?page=2"))
    assert response.status_code == 302
    assert response["Location"] == "/mall/?page=2"
    member = HostMember.objects.get(client_id=host.client_id, external_id="u1").user
    assert member.own_email == ""
    assert int(client.session[SESSION_KEY]) == member.pk
    assert UsedNonce.objects.count() == 1
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_known_member_is_signed_in_without_a_new_account(host, client):
    host.call("PUT", "/members/u2", {"display_name": "Ann"})
    response = client.get(link(host, "u2"))
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert User.objects.count() == 1
    assert int(client.session[SESSION_KEY]) == User.objects.get().pk


def test_a_different_member_signed_in_is_logged_out_and_the_session_key_changes(host, client):
    other = User.objects.create_user(email="other@example.com", password="pw-123456-x")
    client.force_login(other)
    old_key = client.session.session_key
    response = client.get(link(host, "u3"))
    assert response.status_code == 302
    member = User.objects.get(host_links__external_id="u3")
    assert int(client.session[SESSION_KEY]) == member.pk
    assert client.session.session_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()


def test_same_member_again_gets_a_new_session_key(host, client):
    client.get(link(host, "u4"))
    first_key = client.session.session_key
    client.get(link(host, "u4"))
    assert client.session.session_key != first_key
    assert User.objects.count() == 1


def test_member_lands_on_their_page_in_their_language(host, client):
    host.call("PUT", "/members/u5", {"display_name": "Li Lei", "language": "en"})
    response = client.get(link(host, "u5", redirect="/me/"), follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Li Lei" in body
    assert "No e-mail address yet" in body
    assert "members.invalid" not in body


def test_bad_signature_is_refused(host, client):
    _refused(client.get(link(host, "u1", secret="wrong")), 401, "This login link is not valid.")
    _nothing_written(client)


def test_changed_parameter_breaks_the_signature(host, client):
    url = link(host, "u1", redirect="/mall/")
    _refused(client.get(url.replace("redirect=%2Fmall%2F", "redirect=%2Fme%2F")), 401, "not valid")
    _nothing_written(client)


def test_expired_link_is_refused(host, client):
    _refused(client.get(link(host, "u1", ts=str(int(time.time()) - 301))), 401, "This login link has expired.")
    _nothing_written(client)


def test_reused_link_is_refused_and_nothing_more_is_written(host, client):
    url = link(host, "u1")
    assert client.get(url).status_code == 302
    client.logout()
    _refused(client.get(url), 401, "This login link has already been used.")
    assert User.objects.count() == 1
    assert UsedNonce.objects.count() == 1
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "/admin/",
        "/admin",
        "/%61dmin/",
        "/%2F%2Fevil.example",
        "javascript:alert(1)",
        "mall/",
        "/mall/\nSet-Cookie: x=1",
    ],
)
def test_foreign_redirect_is_refused_even_when_signed(host, client, target):
    _refused(client.get(link(host, "u1", redirect=target)), 400, "leads outside the mall")
    _nothing_written(client)


def test_safe_redirect_keeps_mall_paths():
    assert safe_redirect(None) == "/"
    assert safe_redirect("") == "/"
    assert safe_redirect("/mall/products/3/?from=shop#top") == "/mall/products/3/?from=shop#top"
    with pytest.raises(RedirectNotAllowedError):
        safe_redirect("//evil.example")


def test_disabled_client_is_refused(host, client):
    Client.objects.filter(pk=host.client_id).update(enabled=False)
    _refused(client.get(link(host, "u1")), 403, "switched off")
    _nothing_written(client)


def test_unknown_key_is_refused(host, client):
    url = link(host, "u1", key="mk_0000000000000000")
    _refused(client.get(url), 401, "This login link is not valid.")
    _nothing_written(client)


@pytest.mark.parametrize("missing", ["key", "uid", "ts", "nonce", "sign"])
def test_incomplete_link_is_refused(host, client, missing):
    url = link(host, "u1")
    parts = [part for part in url.split("?", 1)[1].split("&") if not part.startswith(missing + "=")]
    _refused(client.get("/sso/login?" + "&".join(parts)), 400, "not valid")
    _nothing_written(client)


def test_repeated_parameter_is_refused(host, client):
    _refused(client.get(link(host, "u1", redirect="/mall/") + "&redirect=%2Fme%2F"), 400, "not valid")
    _nothing_written(client)


def test_invalid_uid_is_refused(host, client):
    _refused(client.get(link(host, "bad uid")), 400, "not valid")
    _nothing_written(client)


def test_staff_uid_is_refused_and_the_nonce_is_not_spent(host, client):
    host.call("PUT", "/members/boss", {"display_name": "Boss"})
    User.objects.filter(host_links__external_id="boss").update(is_staff=True)
    nonces = UsedNonce.objects.count()
    _refused(client.get(link(host, "boss")), 403, "cannot sign in")
    assert UsedNonce.objects.count() == nonces
    assert SESSION_KEY not in client.session


def test_closed_account_is_refused(host, client):
    host.call("PUT", "/members/gone", {"display_name": "Gone"})
    User.objects.filter(host_links__external_id="gone").update(is_active=False)
    nonces = UsedNonce.objects.count()
    _refused(client.get(link(host, "gone")), 403, "closed")
    assert UsedNonce.objects.count() == nonces
    assert SESSION_KEY not in client.session


def test_refusal_page_speaks_the_visitors_language(host, client):
    client.cookies["django_language"] = "zh-hans"
    response = client.get(link(host, "u1", ts="1"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 401
    assert '<html lang="zh-hans"' in response.content.decode()


def test_post_is_not_allowed(host, client):
    assert client.post(link(host, "u1")).status_code == 405
    _nothing_written(client)


def test_member_without_email_adds_one_on_the_email_page(host, client, django_capture_on_commit_callbacks):
    # A new address each run: allauth rate-limits confirmation mails per address in the shared cache.
    address = f"new-{secrets.token_hex(4)}@example.com"
    client.get(link(host, "u9"))
    member = User.objects.get(host_links__external_id="u9")
    page = client.get("/accounts/email/")
    assert page.status_code == 200
    assert "members.invalid" not in page.content.decode()
    for path in ("/me/", "/me/notifications/"):
        body = client.get(path).content.decode()
        assert "members.invalid" not in body, path
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/email/", {"action_add": "", "email": address})
    assert response.status_code == 302
    assert list(EmailAddress.objects.filter(user=member).values_list("email", "verified")) == [(address, False)]
    member.refresh_from_db()
    assert member.email.endswith("@members.invalid")
    # Confirming it makes it their address and login; a host member still gets no sign-up bonus.
    confirm = re.search(r"/accounts/confirm-email/[^/\s]+/", mail.outbox[-1].body).group(0)
    assert client.post(confirm).status_code == 302
    member.refresh_from_db()
    assert member.email == address
    assert member.own_email == address
    assert list(EmailAddress.objects.filter(user=member).values_list("email", "verified", "primary")) == [
        (address, True, True)
    ]
    member.points_account.refresh_from_db()
    assert (member.points_account.balance, member.points_account.pending) == (0, 0)


def test_allowed_ips_limit_the_hosts_servers_not_the_members_browser(db, client):
    """The allowlist is for API calls from the host's servers; a member opens the link from anywhere."""
    from tests.integration.host import make_host

    host = make_host(allowed_ips="203.0.113.0/24")
    assert host.call("GET", "/ping").status_code == 403
    response = client.get(link(host, "u9"))
    assert response.status_code == 302
    assert HostMember.objects.filter(client_id=host.client_id, external_id="u9").exists()
