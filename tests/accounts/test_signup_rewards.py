"""Sign-up with an invite link or code (the allauth form), and the sign-up bonus on e-mail confirmation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.account.signals import user_signed_up
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from accounts import rules, selectors, services
from accounts.adapters import bind_invite
from accounts.enums import ReferralStatus
from accounts.models import Notification, Referral, User
from points import selectors as points_selectors
from tests.factories import MemberFactory

PASSWORD = "plum-Orchard-walks-42"
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)


@pytest.fixture
def invite_form(settings):
    """The settings line the project uses: allauth's sign-up form with the invite code field."""
    settings.ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}


@pytest.fixture
def inviter(db):
    return MemberFactory(email="inviter@example.com", display_name="Alice 王")


def code_of(user) -> str:
    return selectors.invite_code_of(user_id=user.pk)


def sign_up(client, email: str, invite_code: str | None = None, ip: str = "198.51.100.4"):
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    if invite_code is not None:
        data["invite_code"] = invite_code
    return client.post(reverse("account_signup"), data, REMOTE_ADDR=ip)


def confirm_latest_email(client) -> None:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    assert client.post(match.group(1)).status_code == 302


def available(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).available


def pending(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).pending


def inbox(user) -> list[tuple[str, str, str]]:
    """(title, body, link) of each message, oldest first, rendered in the active language (the reader's)."""
    return [(n.text().title, n.text().body, n.link) for n in Notification.objects.filter(user=user).order_by("pk")]


# ---------- the invite code on the sign-up form ----------


def test_an_invite_link_prefills_the_code_names_the_inviter_and_keeps_the_code(client, inviter, invite_form):
    code = code_of(inviter)
    page = client.get(f"{reverse('account_signup')}?invite={code.lower()}")
    body = page.content.decode()
    assert f'name="invite_code" value="{code}"' in body
    assert 'data-testid="signup-invite-note"' in body
    assert "<strong>Alice 王</strong> invited you." in body
    assert client.session[rules.INVITE_SESSION_KEY] == code
    # Back on the form later, without the link's parameter: still filled in.
    again = client.get(reverse("account_signup")).content.decode()
    assert f'name="invite_code" value="{code}"' in again


def test_a_link_with_an_unknown_code_shows_it_but_keeps_the_good_one(client, inviter, invite_form):
    client.get(f"{reverse('account_signup')}?invite={code_of(inviter)}")
    body = client.get(f"{reverse('account_signup')}?invite=zzzz9999").content.decode()
    assert 'name="invite_code" value="ZZZZ9999"' in body
    assert 'data-testid="signup-invite-note"' not in body
    assert client.session[rules.INVITE_SESSION_KEY] == code_of(inviter)


def test_the_invite_code_is_the_last_field_of_the_form(client, db, invite_form):
    form = client.get(reverse("account_signup")).context["form"]
    assert list(form.fields) == ["email", "password1", "password2", "invite_code"]


def test_the_sign_up_form_without_an_invite_shows_an_empty_optional_field(client, db, invite_form):
    body = client.get(reverse("account_signup")).content.decode()
    assert 'name="invite_code"' in body
    assert "Invited by a friend? Enter their code and you both get points." in body
    assert 'data-testid="signup-invite-note"' not in body


def test_signing_up_with_the_code_binds_the_new_member_and_clears_the_session(client, inviter, invite_form):
    client.get(f"{reverse('account_signup')}?invite={code_of(inviter)}")
    response = sign_up(client, "friend@example.com", invite_code=code_of(inviter))
    assert response["Location"] == reverse("account_email_verification_sent")
    friend = User.objects.get(email="friend@example.com")
    assert list(Referral.objects.values_list("invitee_id", "inviter_id", "status", "signup_ip")) == [
        (friend.pk, inviter.pk, ReferralStatus.PENDING, "198.51.100.4")
    ]
    assert rules.INVITE_SESSION_KEY not in client.session


def test_a_typed_code_with_spaces_and_lower_case_works(client, inviter, invite_form):
    code = code_of(inviter)
    sign_up(client, "typed@example.com", invite_code=f" {code[:4].lower()} {code[4:]} ")
    assert Referral.objects.get().inviter_id == inviter.pk


def test_an_unknown_code_is_a_field_error_and_creates_nothing(client, db, invite_form):
    response = sign_up(client, "typo@example.com", invite_code="ZZZZ9999")
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "invite_code": ["This invite code does not exist. Check it with your friend, or leave the field empty."]
    }
    assert User.objects.filter(email="typo@example.com").exists() is False
    assert Referral.objects.count() == 0
    assert mail.outbox == []


def test_a_cleared_field_binds_nobody_even_after_an_invite_link(client, inviter, invite_form):
    client.get(f"{reverse('account_signup')}?invite={code_of(inviter)}")
    sign_up(client, "nofriend@example.com", invite_code="")
    assert Referral.objects.count() == 0
    assert rules.INVITE_SESSION_KEY not in client.session


def test_a_code_whose_owner_left_between_form_and_binding_does_not_stop_the_sign_up(inviter, rf):
    """The form checked the code; the binding refuses it; the member is told and signed up anyway."""
    request = rf.post("/accounts/signup/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    newcomer = MemberFactory()
    inviter.is_active = False
    inviter.save()
    bind_invite(request, user_id=newcomer.pk, code=code_of(inviter))
    assert [str(m) for m in get_messages(request)] == [
        "This invite code does not exist. Check it with your friend, or leave the field empty."
    ]
    assert Referral.objects.count() == 0


def test_a_social_sign_up_uses_the_code_kept_from_the_invite_link(inviter, db):
    request = RequestFactory().get("/accounts/weixin/login/callback/", REMOTE_ADDR="198.51.100.9")
    request.session = SessionStore()
    request.session[rules.INVITE_SESSION_KEY] = code_of(inviter)
    newcomer = MemberFactory(email="wechat@example.com")
    user_signed_up.send(sender=User, request=request, user=newcomer)
    assert list(Referral.objects.values_list("invitee_id", "inviter_id", "signup_ip")) == [
        (newcomer.pk, inviter.pk, "198.51.100.9")
    ]
    assert rules.INVITE_SESSION_KEY not in request.session


def test_a_sign_up_without_a_kept_code_binds_nobody(db):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    user_signed_up.send(sender=User, request=request, user=MemberFactory())
    assert Referral.objects.count() == 0


# ---------- end to end: sign up, confirm, rewards ----------


def test_a_friend_signs_up_through_the_link_and_both_get_their_points(client, inviter, invite_form):
    client.get(f"{reverse('account_signup')}?invite={code_of(inviter)}")
    sign_up(client, "friend@example.com", invite_code=code_of(inviter))
    friend = User.objects.get(email="friend@example.com")
    assert (available(friend), available(inviter)) == (0, 0)
    confirm_latest_email(client)
    # The inviter's reward waits out the hour in which a burst of sign-ups from that address would show.
    assert (available(friend), available(inviter), pending(inviter)) == (100, 0, 50)
    assert inbox(friend) == [
        (
            "Welcome! 100 points were added",
            "Thank you for confirming your e-mail address. Spend your points in the mall, "
            "or read the points rules for more ways to earn.",
            "/points/",
        )
    ]
    assert inbox(inviter)[0][0] == "Your friend fr***@example.com joined: 50 points for you"


def test_thirty_sign_ups_from_one_ip_through_the_form_are_held(client, inviter, invite_form):
    """One a minute (allauth itself limits sign-ups per IP and minute), each confirmed at once."""
    code = code_of(inviter)
    with time_machine.travel(T0, tick=False) as clock:
        for number in range(30):
            clock.move_to(T0 + timedelta(minutes=number))
            client.logout()
            assert sign_up(client, f"farm{number}@example.com", invite_code=code, ip="203.0.113.50").status_code == 302
            confirm_latest_email(client)
    statuses = list(Referral.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [ReferralStatus.HELD] * 30
    assert (available(inviter), pending(inviter)) == (0, 0)
    # Each friend still got their own sign-up bonus: the hold is about the inviter's reward.
    assert available(User.objects.get(email="farm29@example.com")) == 100


# ---------- the sign-up bonus ----------


def test_the_sign_up_bonus_is_paid_once_on_confirmation(client, db):
    sign_up(client, "solo@example.com")
    solo = User.objects.get(email="solo@example.com")
    assert available(solo) == 0
    confirm_latest_email(client)
    assert available(solo) == 100
    services.signup_bonus_claim(user_id=solo.pk, email="solo@example.com")
    assert available(solo) == 100
    assert [title for title, _body, _link in inbox(solo)] == ["Welcome! 100 points were added"]


def test_a_recreated_account_with_the_same_email_gets_no_bonus(client, db):
    with time_machine.travel(T0, tick=False) as clock:
        sign_up(client, "again@example.com")
        confirm_latest_email(client)
        first = User.objects.get(email="again@example.com")
        # "Deleting" a member: the ledger keeps the row, so the address is taken off it instead.
        first.email = f"deleted-{first.pk}@invalid"
        first.is_active = False
        first.save()
        EmailAddress.objects.filter(user=first).update(email=first.email, verified=False)
        client.logout()
        # allauth sends one confirmation mail per address every 3 minutes.
        clock.move_to(T0 + timedelta(minutes=5))
        sign_up(client, "again@example.com")
        assert len(mail.outbox) == 2
        confirm_latest_email(client)
    second = User.objects.get(email="again@example.com")
    assert second.pk != first.pk
    assert (available(first), available(second)) == (100, 0)
    assert inbox(second) == [
        (
            "About your sign-up bonus",
            "The sign-up bonus was already given to this e-mail address or phone.",
            "/rules/",
        )
    ]


def test_a_second_confirmed_address_is_claimed_for_the_bonus_already_paid(member):
    services.signup_bonus_claim(user_id=member.pk, email=member.email)
    services.signup_bonus_claim(user_id=member.pk, email="second@example.com")
    assert available(member) == 100
    assert len(inbox(member)) == 1
    newcomer = MemberFactory(email="second@example.com")
    result = services.signup_bonus_claim(user_id=newcomer.pk, email="second@example.com")
    assert (result.granted, available(newcomer)) == (0, 0)


def test_a_phone_that_claimed_the_bonus_cannot_claim_it_on_another_account(db):
    # Only a verified phone counts (tests/accounts/test_identity.py has the unverified case).
    first = MemberFactory(phone="13812345678", phone_verified_at=T0)
    services.signup_bonus_claim(user_id=first.pk, email=first.email)
    first.phone, first.phone_verified_at = None, None
    first.save()
    second = MemberFactory(phone="13812345678", phone_verified_at=T0)
    result = services.signup_bonus_claim(user_id=second.pk, email=second.email)
    assert (available(first), result.granted, available(second)) == (100, 0, 0)
    assert inbox(second)[0][1] == "The sign-up bonus was already given to this e-mail address or phone."


def test_a_switched_off_bonus_is_explained(member):
    from points.models import EarningRule  # the test sets an operator's switch; the app never imports it

    EarningRule.objects.filter(source="signup").update(active=False)
    services.signup_bonus_claim(user_id=member.pk, email=member.email)
    assert available(member) == 0
    assert inbox(member) == [
        ("About your sign-up bonus", "Points for Sign-up bonus are switched off at the moment.", "/rules/")
    ]
