"""The risk view: held referral rewards with reason and evidence; operators release (approve: pays) or
reject (deny) them, audited, exactly once — also when two operators click at once (docs/decisions/0056)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts import selectors, services
from accounts.enums import ReferralStatus, RiskReason
from accounts.models import Referral, RiskFlag
from points import selectors as points_selectors
from points import services as points_services
from tests.concurrency import run_together
from tests.factories import MemberFactory

T0 = datetime(2026, 12, 10, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
REFERRALS = "admin:accounts_referral_changelist"


def operator_client(settings) -> Client:
    settings.ADMIN_REQUIRE_MFA = False
    operator = MemberFactory(is_staff=True)
    operator.groups.add(Group.objects.get(name="Operators"))
    client = Client()
    client.force_login(operator)
    client.operator = operator  # type: ignore[attr-defined]
    return client


def held_burst(settings) -> tuple[object, list[Referral]]:
    """Three friends through one link within minutes: a burst, held, the inviter flagged."""
    settings.REFERRAL_BURST_COUNT = 3
    inviter = MemberFactory(email="farmer@example.com")
    for number in range(3):
        friend = MemberFactory()
        code = selectors.invite_code_of(user_id=inviter.pk)
        services.referral_bind(invitee_id=friend.pk, code=code, signup_ip=f"198.51.100.{number + 1}")
        services.referral_confirm(invitee_id=friend.pk, email=friend.email)
    return inviter, list(Referral.objects.filter(inviter=inviter).order_by("pk"))


def approve(client: Client, referrals: list[Referral]):
    data = {"action": "approve_referrals", "_selected_action": [r.pk for r in referrals]}
    return client.post(reverse(REFERRALS), data, follow=True)


def available(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).available


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_the_risk_view_shows_the_flag_its_evidence_and_a_link_to_the_held_rewards(db, settings, clock):
    inviter, referrals = held_burst(settings)
    client = operator_client(settings)
    flag = RiskFlag.objects.get(user=inviter, reason=RiskReason.REFERRAL_BURST)
    body = client.get(reverse("admin:accounts_riskflag_changelist")).content.decode()
    assert "A burst of invited sign-ups" in body
    assert f"referrals: {[r.pk for r in referrals]}" in body
    link = reverse(REFERRALS) + "?status__exact=held&amp;q=farmer@example.com"
    assert f'<a href="{link}">3 held</a>' in body
    held = client.get(reverse(REFERRALS), {"status__exact": "held", "q": inviter.email})
    assert held.context["cl"].result_count == 3
    assert "Many sign-ups through one invite link in a short time" in held.content.decode()
    assert client.get(reverse("admin:accounts_riskflag_change", args=[flag.pk])).status_code == 200


def test_releasing_pays_once_and_is_audited(db, settings, clock):
    inviter, referrals = held_burst(settings)
    client = operator_client(settings)
    assert "3 referrals approved." in approve(client, referrals).content.decode()
    assert available(inviter) == 150
    logged = LogEntry.objects.filter(user=client.operator, content_type__model="referral")
    assert sorted(int(pk) for pk in logged.values_list("object_id", flat=True)) == [r.pk for r in referrals]
    # Again: refused row by row, nothing paid twice.
    again = approve(client, referrals).content.decode()
    assert again.count("Only referrals held for review can be approved (this one: Approved).") == 3
    assert available(inviter) == 150
    assert points_services.points_verify().ok


def test_rejecting_pays_nothing_and_cannot_be_released_later(db, settings, clock):
    inviter, referrals = held_burst(settings)
    client = operator_client(settings)
    data = {"action": "deny_referrals", "_selected_action": [r.pk for r in referrals]}
    assert "3 referrals denied." in client.post(reverse(REFERRALS), data, follow=True).content.decode()
    approve(client, referrals)
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.DENIED}
    assert available(inviter) == 0


def test_a_member_without_the_review_permission_cannot_release(db, settings, clock):
    inviter, referrals = held_burst(settings)
    settings.ADMIN_REQUIRE_MFA = False
    support = MemberFactory(is_staff=True)
    support.groups.add(Group.objects.get(name="Customer service"))
    client = Client()
    client.force_login(support)
    approve(client, referrals)
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.HELD}
    assert available(inviter) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_operators_releasing_at_once_pay_once(settings):
    with time_machine.travel(T0, tick=False):
        inviter, referrals = held_burst(settings)
        clients = [operator_client(settings) for _ in range(2)]
        responses = run_together([lambda c=c: approve(c, referrals) for c in clients])
    assert [getattr(r, "status_code", r) for r in responses] == [200, 200]
    assert available(inviter) == 150
    reviewers = set(Referral.objects.values_list("reviewed_by_id", flat=True))
    assert len(reviewers) in (1, 2) and reviewers <= {c.operator.pk for c in clients}
    assert points_services.points_verify().ok
