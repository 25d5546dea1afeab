"""Farming referrals in bursts: through one inviter's link, or from one network, IPv6 counted by its /64
(docs/decisions/0056). Every place that counts per address keys it the same way."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.core.internal.ratelimit import truncate_ip
from django.test import RequestFactory
from django.urls import reverse

from accounts import selectors, services
from accounts.enums import HoldReason, ReferralStatus, RiskReason
from accounts.models import Referral, RiskFlag
from points import selectors as points_selectors
from points import services as points_services
from pointsmall.kernel.ratelimit import client_network, ip_network_key
from tasks.models import Checkin
from tests.factories import MemberFactory
from tests.tasks.checkin_support import T0 as CHECKIN_T0
from tests.tasks.checkin_support import joined_member

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)
HOME = "2001:db8:1:2::"  # one home's /64


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def inviter(db):
    return MemberFactory(email="inviter@example.com")


def sign_up(inviter, ip: str | None, device: str = "") -> Referral:
    """A friend signs up through the inviter's link and confirms their e-mail at once."""
    friend = MemberFactory()
    code = selectors.invite_code_of(user_id=inviter.pk)
    services.referral_bind(invitee_id=friend.pk, code=code, signup_ip=ip, device_hash=device)
    services.referral_confirm(invitee_id=friend.pk, email=friend.email)
    return Referral.objects.get(invitee=friend)


def pending(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).pending


# ---------- one key per client address ----------


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", HOME),
        ("2001:DB8:1:2::1", HOME),
        ("2001:db8:1:3::1", "2001:db8:1:3::"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("not an address", ""),
        (None, ""),
    ],
)
def test_ipv4_is_counted_exactly_and_ipv6_by_its_64(ip, key):
    assert ip_network_key(ip) == key


@pytest.mark.parametrize("ip", ["203.0.113.7", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::ffff"])
def test_the_rate_limits_and_allauths_own_limits_key_an_address_alike(ip):
    """The check-in, PIN and analytics counters (``client_network``) and allauth's sign-up and login
    limits (its /64 default) see the same client."""
    request = RequestFactory().get("/", REMOTE_ADDR=ip)
    assert client_network(request) == ip_network_key(ip) == truncate_ip(ip)


# ---------- a burst from one network ----------


def test_two_addresses_in_one_64_make_one_burst(inviter, clock, settings):
    settings.REFERRAL_IP_HOURLY_LIMIT = 3
    referrals = [sign_up(inviter, f"2001:db8:1:2::{n:x}") for n in range(1, 4)]
    assert [Referral.objects.get(pk=r.pk).status for r in referrals] == [ReferralStatus.HELD] * 3
    assert set(Referral.objects.values_list("held_reason", flat=True)) == {HoldReason.SAME_IP}
    assert Referral.objects.get(pk=referrals[-1].pk).hold_evidence["network"] == HOME
    assert pending(inviter) == 0
    flag = RiskFlag.objects.get(user=inviter)
    assert (flag.reason, flag.evidence["network"]) == (RiskReason.REFERRAL_BURST, HOME)
    assert points_services.points_verify().ok


def test_neighbouring_64s_are_different_clients(inviter, clock, settings):
    settings.REFERRAL_IP_HOURLY_LIMIT = 3
    for n in range(1, 4):
        sign_up(inviter, f"2001:db8:1:{n}::1")
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.APPROVED}
    assert not RiskFlag.objects.exists()


def test_a_network_burst_flags_every_inviter_it_touches(db, clock, settings):
    settings.REFERRAL_IP_HOURLY_LIMIT = 3
    inviters = [MemberFactory() for _ in range(3)]
    for number, each in enumerate(inviters):
        sign_up(each, f"2001:db8:1:2::{number + 1}")
    assert set(RiskFlag.objects.values_list("user_id", flat=True)) == {each.pk for each in inviters}


# ---------- a burst through one inviter's link ----------


def test_a_burst_through_one_link_from_many_places_is_held_and_the_inviter_flagged(inviter, clock, settings):
    settings.REFERRAL_BURST_COUNT, settings.REFERRAL_BURST_MINUTES = 4, 30
    referrals = []
    for number in range(6):
        clock.move_to(T0 + timedelta(minutes=number * 5))
        referrals.append(sign_up(inviter, f"198.51.100.{number + 1}"))
    rows = list(Referral.objects.order_by("pk").values_list("status", "held_reason"))
    assert rows == [(ReferralStatus.HELD, HoldReason.INVITE_BURST)] * 6
    assert pending(inviter) == 0
    flag = RiskFlag.objects.get(user=inviter)
    assert flag.reason == RiskReason.REFERRAL_BURST
    assert flag.evidence == {"window_minutes": 30, "limit": 4, "referrals": [r.pk for r in referrals[:4]]}
    # A day later the hold is still there: vesting pays nothing held.
    clock.move_to(T0 + timedelta(days=1))
    points_services.points_vest()
    assert points_selectors.balance_summary(user_id=inviter.pk).available == 0
    assert points_services.points_verify().ok


def test_sign_ups_spread_wider_than_the_window_are_not_a_burst(inviter, clock, settings):
    settings.REFERRAL_BURST_COUNT, settings.REFERRAL_BURST_MINUTES = 4, 30
    for number in range(6):
        clock.move_to(T0 + timedelta(minutes=number * 11))
        sign_up(inviter, f"198.51.100.{number + 1}")
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.APPROVED}
    assert not RiskFlag.objects.exists()


def test_the_reward_stays_pending_as_long_as_the_burst_window(inviter, clock, settings):
    """A 90-minute window: the first friend's reward is still pending (cancellable) for 90 minutes."""
    settings.REFERRAL_BURST_COUNT, settings.REFERRAL_BURST_MINUTES = 3, 90
    first = sign_up(inviter, "198.51.100.1")
    assert Referral.objects.get(pk=first.pk).signup_available_at == T0 + timedelta(minutes=90)
    clock.move_to(T0 + timedelta(minutes=80))
    sign_up(inviter, "198.51.100.2")
    sign_up(inviter, "198.51.100.3")
    assert Referral.objects.get(pk=first.pk).status == ReferralStatus.HELD
    assert pending(inviter) == 0


def test_the_link_burst_rule_can_be_switched_off(inviter, clock, settings):
    settings.REFERRAL_BURST_COUNT = 0
    for number in range(12):
        sign_up(inviter, f"198.51.100.{number + 1}")
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.APPROVED}


def test_an_operator_approves_a_burst_and_the_rewards_are_paid_once(inviter, clock, settings):
    settings.REFERRAL_BURST_COUNT = 2
    referrals = [sign_up(inviter, f"198.51.100.{n}") for n in (1, 2)]
    operator = MemberFactory(is_staff=True)
    for referral in referrals:
        services.referral_approve(referral_id=referral.pk, reviewer_id=operator.pk)
    summary = points_selectors.balance_summary(user_id=inviter.pk)
    assert (summary.available, summary.pending) == (100, 0)
    assert points_services.points_verify().ok


def test_scripted_check_ins_from_two_addresses_in_one_64_are_one_client(client, db, settings):
    """1,000 check-ins from one home are not spread over its /64 to pass the per-address limit."""
    settings.CHECKIN_IP_RATE_LIMIT = "1/m"
    with time_machine.travel(CHECKIN_T0, tick=False):
        first, second = joined_member(), joined_member()
        client.force_login(first)
        assert client.post(reverse("checkin_record"), REMOTE_ADDR="2001:db8:1:2::1").status_code == 302
        client.force_login(second)
        assert client.post(reverse("checkin_record"), REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429
    assert Checkin.objects.count() == 1
    flag = RiskFlag.objects.get(user=second, reason=RiskReason.CHECKIN_BURST)
    assert flag.evidence["ip"] == HOME
