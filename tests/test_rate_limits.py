"""Rate limits (issue #16, docs/decisions/0051): each limit answers 429 with a message in the
member's language, and the refused request writes nothing. Small limits via settings; the
counters are in the Django cache as configured (Redis when REDIS_URL is set)."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from accounts.enums import RiskReason
from accounts.models import PaymentPin, RiskFlag, User
from catalog.models import Order
from lottery.models import Draw
from tasks.models import Checkin
from tests.catalog.factories import PIN, WRONG_PIN, make_member, make_product, written
from tests.integration.host import make_host
from tests.tasks.checkin_support import T0, joined_member

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
HTMX = {"HTTP_HX_REQUEST": "true"}
JSON = {"HTTP_ACCEPT": "application/json"}


def _limited(response, language="en"):
    assert response.status_code == 429
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    if language == "zh":
        assert "尝试次数过多" in text, text
    else:
        assert "Too many attempts" in text, text
    return text


# --- check-in: per member, per address, scripted runs flagged ------------------------------------


@pytest.fixture
def _checkin_clock():
    with time_machine.travel(T0, tick=False):
        yield


def test_checkin_past_the_members_rate_is_429_and_writes_nothing(client, settings, _checkin_clock):
    settings.CHECKIN_RATE_LIMIT = "2/m"
    member = joined_member()
    client.force_login(member)
    for _ in range(2):
        assert client.post(reverse("checkin_record")).status_code in (200, 302)
    before = Checkin.objects.count()

    response = client.post(reverse("checkin_record"))

    _limited(response)
    assert int(response["Retry-After"]) >= 1
    assert Checkin.objects.count() == before
    assert not RiskFlag.objects.exists()  # one member at their own rate is not a script


def test_a_scripted_checkin_run_from_one_address_is_refused_and_every_account_is_flagged(
    client, settings, _checkin_clock
):
    settings.CHECKIN_IP_RATE_LIMIT = "3/m"
    members = [joined_member() for _ in range(5)]
    for member in members[:3]:
        client.force_login(member)
        assert client.post(reverse("checkin_record")).status_code == 302
    assert Checkin.objects.count() == 3

    client.force_login(members[3])
    response = client.post(reverse("checkin_record"), **ZH)

    _limited(response, "zh")
    assert Checkin.objects.count() == 3  # the refused check-in wrote nothing
    flagged = set(RiskFlag.objects.values_list("user_id", flat=True))
    assert flagged == {m.pk for m in members[:4]}
    flag = RiskFlag.objects.get(user=members[3])
    assert flag.reason == RiskReason.CHECKIN_BURST
    assert flag.evidence == {"ip": "127.0.0.1", "rate": "3/m", "members_from_ip": 4}
    assert flag.resolved_at is None

    # The run goes on: still refused, one more account flagged, no flag twice.
    client.force_login(members[4])
    _limited(client.post(reverse("checkin_record"), **HTMX))
    client.force_login(members[0])
    _limited(client.post(reverse("checkin_record")))
    assert RiskFlag.objects.count() == 5
    assert Checkin.objects.count() == 3


def test_checkin_from_other_addresses_is_not_counted_together(client, settings, _checkin_clock):
    settings.CHECKIN_IP_RATE_LIMIT = "1/m"
    for n, member in enumerate([joined_member(), joined_member()]):
        client.force_login(member)
        assert client.post(reverse("checkin_record"), REMOTE_ADDR=f"10.0.0.{n + 1}").status_code == 302
    assert Checkin.objects.count() == 2
    assert not RiskFlag.objects.exists()


def test_the_htmx_answer_is_a_fragment_and_json_callers_get_json(client, settings, _checkin_clock):
    settings.CHECKIN_RATE_LIMIT = "0/m"
    client.force_login(joined_member())

    fragment = client.post(reverse("checkin_record"), **HTMX)
    data = client.post(reverse("checkin_record"), **JSON, **ZH)

    assert "data-rate-limited" in _limited(fragment) and "<html" not in fragment.content.decode()
    assert data.status_code == 429
    body = data.json()
    assert body["code"] == "rate_limited" and "尝试次数过多" in body["message"]
    assert not Checkin.objects.exists()


# --- redeem and the payment PIN -----------------------------------------------------------------


def _redeem(client, product, pin=PIN):
    return client.post(
        reverse("redeem_confirm", args=[product.pk]),
        {"quantity": 1, "pin": pin, "idempotency_key": "0123456789abcdef0123456789abcdef", "confirmation": "x"},
    )


def test_redeem_posts_past_the_members_rate_are_429_and_write_nothing(client, settings):
    settings.REDEEM_RATE_LIMIT = "1/m"
    member = make_member(points=900)
    client.force_login(member)
    product = make_product()
    _redeem(client, product)  # a forged confirmation: refused by the form (400), counted
    before = written()

    _limited(_redeem(client, product))

    assert written() == before
    assert not Order.objects.exists()


def test_pin_entries_past_the_rate_are_429_and_count_no_wrong_attempt(client, settings):
    settings.PIN_RATE_LIMIT = "1/m"
    member = make_member(points=900)
    client.force_login(member)
    product = make_product()
    _redeem(client, product, pin=WRONG_PIN)
    failures = PaymentPin.objects.get(user=member).failed_attempts

    _limited(_redeem(client, product, pin=WRONG_PIN), "en")

    assert PaymentPin.objects.get(user=member).failed_attempts == failures


def test_pin_entries_from_one_address_are_limited_across_members(client, settings):
    settings.PIN_IP_RATE_LIMIT = "1/m"
    product = make_product()
    client.force_login(make_member(points=900))
    _redeem(client, product, pin=WRONG_PIN)
    client.force_login(make_member(points=900))

    _limited(_redeem(client, product, pin=WRONG_PIN))

    assert not Order.objects.exists()


# --- lottery draw, review -----------------------------------------------------------------------


def test_draws_past_the_rate_are_429_and_draw_nothing(client, settings):
    from tests.lottery.test_views import fund, make_campaign

    settings.DRAW_RATE_LIMIT = "0/m"
    member = make_member()
    fund(member)
    client.force_login(member)
    campaign = make_campaign()

    response = client.post(reverse("lottery_draw", args=[campaign.pk]), {"idempotency_key": "k"}, **ZH)

    _limited(response, "zh")
    assert not Draw.objects.exists()


def test_reviews_past_the_rate_are_429_and_write_nothing(client, settings):
    settings.REVIEW_RATE_LIMIT = "0/h"
    member = make_member()
    client.force_login(member)
    before = written()

    _limited(client.post(reverse("order_review", args=[999999]), {"rating": 5, "text": "good"}))

    assert written() == before


# --- allauth: sign-up, password reset -----------------------------------------------------------


def test_signups_past_the_rate_get_the_429_page_in_the_visitors_language(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    data = {"email": "a@example.com", "password1": "a-Long-pass-123", "password2": "a-Long-pass-123"}
    client.post(reverse("account_signup"), data)
    users = User.objects.count()

    response = client.post(reverse("account_signup"), {**data, "email": "b@example.com"}, **ZH)

    text = _limited(response, "zh")
    assert "请稍后再试" in text
    assert User.objects.count() == users


def test_password_reset_requests_past_the_rate_get_the_429_page(client, settings, mailoutbox):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "1/m/ip"}
    client.post(reverse("account_reset_password"), {"email": "x@example.com"})
    sent = len(mailoutbox)

    _limited(client.post(reverse("account_reset_password"), {"email": "y@example.com"}))

    assert len(mailoutbox) == sent


# --- host API -----------------------------------------------------------------------------------


def test_the_api_past_a_clients_rate_answers_429_json_with_retry_after(settings):
    settings.API_RATE_LIMIT = "1/m"
    host = make_host()
    other = make_host("Other shop")
    assert host.call("GET", "/members/u1/balance").status_code == 404

    response = host.call("GET", "/members/u1/balance")

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert "Too many attempts" in response.json()["message"]
    assert int(response["Retry-After"]) >= 1
    assert other.call("GET", "/members/u1/balance").status_code == 404  # per client key


# --- the cache's outage, the kernel helper ------------------------------------------------------


@pytest.mark.redis
def test_checkin_limits_still_hold_while_redis_is_down(client, settings, spare_redis, _checkin_clock):
    """The counters fall back to this process (docs/decisions/0036): a limit never becomes unlimited."""
    settings.CHECKIN_IP_RATE_LIMIT = "1/m"
    first, second = joined_member(), joined_member()
    spare_redis.stop()
    client.force_login(first)
    assert client.post(reverse("checkin_record")).status_code == 302
    client.force_login(second)

    _limited(client.post(reverse("checkin_record")))

    assert Checkin.objects.count() == 1
    assert set(RiskFlag.objects.values_list("user_id", flat=True)) == {first.pk, second.pk}


def test_an_empty_rate_turns_a_limit_off(client, settings, _checkin_clock):
    settings.CHECKIN_RATE_LIMIT = ""
    settings.CHECKIN_IP_RATE_LIMIT = ""
    client.force_login(joined_member())
    for _ in range(5):
        assert client.post(reverse("checkin_record")).status_code == 302


@pytest.mark.parametrize(("rate", "seconds"), [("30/m", 60), ("10/5m", 300), ("1/h", 3600), ("2/d", 86400), ("5/s", 1)])
def test_rate_seconds_reads_django_ratelimit_rates(rate, seconds):
    from pointsmall.kernel.ratelimit import rate_seconds

    assert rate_seconds(rate) == seconds


def test_a_misspelt_rate_fails_loudly():
    from django.core.exceptions import ImproperlyConfigured

    from pointsmall.kernel.ratelimit import rate_seconds

    with pytest.raises(ImproperlyConfigured):
        rate_seconds("30 per minute")


def test_the_message_counts_whole_minutes_in_the_members_language():
    from django.utils import translation

    from pointsmall.kernel.ratelimit import RateLimitedError

    assert RateLimitedError(seconds=61).message == "Too many attempts. Try again in 2 minutes."
    assert RateLimitedError(seconds=1).message == "Too many attempts. Try again in 1 minute."
    with translation.override("zh-hans"):
        assert RateLimitedError(seconds=600).message == "尝试次数过多，请10分钟后再试。"


def test_operators_look_at_risk_flags_and_cannot_add_change_or_delete_them(client, settings):
    from django.contrib.auth.models import Group

    from accounts.services import risk_flag_raise
    from tests.factories import StaffFactory

    settings.ADMIN_REQUIRE_MFA = False
    member = make_member(pin=False)
    risk_flag_raise(user_ids=[member.pk], reason=RiskReason.CHECKIN_BURST, evidence={"ip": "10.0.0.1"})
    operator = StaffFactory(is_superuser=False)
    operator.groups.add(Group.objects.get(name="Operators"))
    client.force_login(operator)

    listing = client.get(reverse("admin:accounts_riskflag_changelist"), {"reason": "checkin_burst"})
    flag = RiskFlag.objects.get()

    assert listing.status_code == 200 and member.email in listing.content.decode()
    assert client.get(reverse("admin:accounts_riskflag_add")).status_code == 403
    assert client.post(reverse("admin:accounts_riskflag_delete", args=[flag.pk]), {"post": "yes"}).status_code == 403
    assert RiskFlag.objects.count() == 1


def test_pin_checks_on_the_pin_page_count_as_pin_entries(client, settings):
    settings.PIN_RATE_LIMIT = "1/m"
    member = make_member()
    client.force_login(member)
    client.post(reverse("pin_manage"), {"action": "check", "pin": WRONG_PIN})
    failures = PaymentPin.objects.get(user=member).failed_attempts
    assert failures == 1

    _limited(client.post(reverse("pin_manage"), {"action": "check", "pin": WRONG_PIN}, **ZH), "zh")

    assert PaymentPin.objects.get(user=member).failed_attempts == failures


def test_confirmation_emails_past_the_rate_are_not_sent_again(client, settings, mailoutbox):
    """allauth's e-mail verification by link skips the e-mail past ``confirm_email`` instead of a
    429: the link already sent stays valid (allauth.account.internal.flows.email_verification)."""
    from allauth.account.models import EmailAddress

    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "confirm_email": "1/m/key"}
    member = make_member(pin=False)
    EmailAddress.objects.update_or_create(
        user=member, email=member.email, defaults={"verified": False, "primary": True}
    )
    client.force_login(member)

    for _ in range(3):
        client.post(reverse("account_email"), {"action_send": "", "email": member.email})

    assert len(mailoutbox) == 1


def test_invited_signups_past_the_rate_are_429_and_bind_no_referral(client, settings):
    """Referral sign-ups go through the sign-up limit (per address); past REFERRAL_IP_HOURLY_LIMIT
    the ones that pass are held for review (accounts.services.referral_bind), not refused."""
    from accounts.models import Referral
    from accounts.services import invite_code_ensure

    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    code = invite_code_ensure(user_id=make_member(pin=False).pk)
    data = {"password1": "a-Long-pass-123", "password2": "a-Long-pass-123", "invite_code": code}
    client.post(reverse("account_signup"), {**data, "email": "f1@example.com"})
    referrals = Referral.objects.count()
    assert referrals == 1
    client.logout()

    _limited(client.post(reverse("account_signup"), {**data, "email": "f2@example.com"}))

    assert Referral.objects.count() == referrals
    assert not User.objects.filter(email="f2@example.com").exists()


def test_one_account_repeating_its_check_in_cannot_lock_its_address_out(client, settings, _checkin_clock):
    """The member's own rate is counted first: its refused clicks never count against the address,
    so one account on a shared address (an office, a carrier's NAT) cannot get the others refused
    or flagged."""
    settings.CHECKIN_RATE_LIMIT = "2/m"
    settings.CHECKIN_IP_RATE_LIMIT = "5/m"
    attacker, neighbour = joined_member(), joined_member()
    client.force_login(attacker)
    for _ in range(20):
        client.post(reverse("checkin_record"))
    client.force_login(neighbour)

    assert client.post(reverse("checkin_record")).status_code == 302

    assert Checkin.objects.filter(member=neighbour).count() == 1
    assert not RiskFlag.objects.exists()
