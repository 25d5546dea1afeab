"""Sign-up, e-mail verification, login, password reset and the admin's two-factor gate (allauth)."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from accounts.models import User
from points import selectors as points_selectors
from tests.factories import PASSWORD, MemberFactory, StaffFactory

NEW_PASSWORD = "plum-Orchard-walks-42"


def link_in(message, path_prefix: str) -> str:
    match = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_sign_up_verify_by_email_then_log_in(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "new.member@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.member@example.com"]
    user = User.objects.get(email="new.member@example.com")
    assert EmailAddress.objects.filter(user=user, verified=True).exists() is False

    confirm_url = link_in(mail.outbox[0], "/accounts/confirm-email/")
    # GET only shows the confirmation page: mail scanners that follow links must not verify.
    assert client.get(confirm_url).status_code == 200
    assert EmailAddress.objects.get(user=user).verified is False
    assert client.post(confirm_url).status_code == 302
    assert EmailAddress.objects.get(user=user).verified is True

    client.logout()
    login = client.post(reverse("account_login"), {"login": "new.member@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == reverse("home")
    assert int(client.session[SESSION_KEY]) == user.pk


def test_an_unverified_member_cannot_log_in_yet(client, db):
    client.post(
        reverse("account_signup"), {"email": "late@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    client.logout()
    response = client.post(reverse("account_login"), {"login": "late@example.com", "password": NEW_PASSWORD})
    assert response["Location"] == reverse("account_email_verification_sent")
    assert SESSION_KEY not in client.session


def test_every_new_member_gets_a_points_account(client, db):
    client.post(
        reverse("account_signup"), {"email": "points@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    user = User.objects.get(email="points@example.com")
    assert points_selectors.spendable_balance(user_id=user.pk) == 0
    assert points_selectors.spendable_balance(user_id=MemberFactory().pk) == 0


def test_sign_up_with_a_taken_email_creates_nothing_and_reveals_nothing(client, member):
    response = client.post(
        reverse("account_signup"), {"email": member.email.upper(), "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    # Same answer as a real sign-up (no account enumeration); the owner is told by e-mail instead.
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email__iexact=member.email).count() == 1
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert "already" in mail.outbox[0].body
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_login_with_a_wrong_password_shows_an_error(client, member):
    response = client.post(reverse("account_login"), {"login": member.email, "password": "not-the-password"})
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_login_with_the_right_password_works(client, member):
    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == member.pk


def test_login_page_renders_without_any_social_app_configured(client, db):
    from allauth.socialaccount.models import SocialApp

    assert SocialApp.objects.count() == 0
    response = client.get(reverse("account_login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="login"' in body
    assert 'class="providers"' not in body
    for provider in ("weixin", "github", "google"):
        assert f"/accounts/{provider}/login/" not in body


def test_password_reset_sends_an_email_with_a_working_link(client, member):
    response = client.post(reverse("account_reset_password"), {"email": member.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    reset_url = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    form_page = client.get(reset_url, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else reset_url
    done = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


def test_password_reset_for_an_unknown_email_reveals_nothing(client, db):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")


@pytest.fixture
def staff(db):
    return StaffFactory()


def test_staff_without_totp_are_sent_to_set_it_up_when_mfa_is_required(client, staff, settings):
    settings.ADMIN_REQUIRE_MFA = True
    client.force_login(staff)
    for path in ("/admin/", "/admin/accounts/user/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_with_totp_enrolled_reach_the_admin_when_mfa_is_required(client, staff, settings):
    settings.ADMIN_REQUIRE_MFA = True
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "unused-in-this-test"})
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_admin_login_goes_through_allauth(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/admin/"


def test_staff_reach_the_admin_index_when_mfa_is_not_required(client, staff, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Operations" in response.content.decode()


def test_members_are_kept_out_of_the_admin(client, member, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(member)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "This area is for mall staff" in response.content.decode()
