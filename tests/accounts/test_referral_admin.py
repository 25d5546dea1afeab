"""The referral admin: operators find held invitations and approve or deny them; others only look."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import selectors, services
from accounts.enums import ReferralStatus
from accounts.models import Referral
from points import selectors as points_selectors
from tests.factories import MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)
CHANGELIST = "admin:accounts_referral_changelist"


@pytest.fixture
def inviter(db):
    return MemberFactory(email="inviter@example.com")


@pytest.fixture
def held_pair(inviter, settings):
    """Two confirmed friends from one IP address, both held for review."""
    settings.REFERRAL_IP_HOURLY_LIMIT = 2
    friends = [MemberFactory(email=f"friend{n}@example.com") for n in range(2)]
    for friend in friends:
        services.referral_bind(
            invitee_id=friend.pk, code=selectors.invite_code_of(user_id=inviter.pk), signup_ip="203.0.113.5"
        )
    for friend in friends:
        services.referral_confirm(invitee_id=friend.pk, email=friend.email)
    return list(Referral.objects.order_by("pk"))


def staff_in(group: str):
    user = MemberFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def operator_client(client, settings, db, clock):
    settings.ADMIN_REQUIRE_MFA = False
    operator = staff_in("Operators")
    client.force_login(operator)
    client.operator = operator
    return client


def act(client, action: str, referrals):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [r.pk for r in referrals]},
        follow=True,
    )


def available(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).available


def test_operators_filter_held_referrals(operator_client, held_pair, inviter):
    MemberFactory()  # not invited: not a referral
    response = operator_client.get(reverse(CHANGELIST), {"status__exact": "held"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert operator_client.get(reverse(CHANGELIST), {"status__exact": "approved"}).context["cl"].result_count == 0
    assert operator_client.get(reverse(CHANGELIST), {"q": "203.0.113.5"}).context["cl"].result_count == 2
    assert operator_client.get(reverse(CHANGELIST), {"q": "friend1@"}).context["cl"].result_count == 1
    body = response.content.decode()
    assert "Many sign-ups from one IP address within an hour" in body
    assert 'value="approve_referrals"' in body
    assert 'value="deny_referrals"' in body


def test_approving_pays_the_held_rewards_and_records_the_reviewer(operator_client, held_pair, inviter):
    response = act(operator_client, "approve_referrals", held_pair)
    assert "2 referrals approved." in response.content.decode()
    assert (
        list(Referral.objects.order_by("pk").values_list("status", "reviewed_by_id", "reviewed_at"))
        == [(ReferralStatus.APPROVED, operator_client.operator.pk, T0)] * 2
    )
    assert available(inviter) == 100


def test_denying_records_who_and_when_and_pays_nothing(operator_client, held_pair, inviter):
    response = act(operator_client, "deny_referrals", held_pair[:1])
    assert "1 referral denied." in response.content.decode()
    assert list(Referral.objects.order_by("pk").values_list("status", "reviewed_by_id", "reviewed_at")) == [
        (ReferralStatus.DENIED, operator_client.operator.pk, T0),
        (ReferralStatus.HELD, None, None),
    ]
    assert available(inviter) == 0


def test_an_action_on_a_referral_it_does_not_fit_is_refused_and_changes_nothing(operator_client, held_pair, inviter):
    act(operator_client, "approve_referrals", held_pair[:1])
    before = list(Referral.objects.order_by("pk").values())
    response = act(operator_client, "deny_referrals", held_pair[:1])
    body = response.content.decode()
    assert f"#{held_pair[0].pk}: Only pending or held referrals can be denied (this one: Approved)." in body
    assert "referral denied" not in body
    assert list(Referral.objects.order_by("pk").values()) == before
    assert available(inviter) == 50


def test_referrals_cannot_be_added_edited_or_deleted_by_hand(operator_client, held_pair):
    referral = held_pair[0]
    assert operator_client.get(reverse("admin:accounts_referral_add")).status_code == 403
    before = Referral.objects.filter(pk=referral.pk).values().get()
    operator_client.post(reverse("admin:accounts_referral_change", args=[referral.pk]), {"status": "approved"})
    assert Referral.objects.filter(pk=referral.pk).values().get() == before
    assert (
        operator_client.post(reverse("admin:accounts_referral_delete", args=[referral.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert operator_client.get(reverse("admin:accounts_referral_change", args=[referral.pk])).status_code == 200


def test_customer_service_sees_referrals_but_cannot_review_them(client, settings, held_pair, inviter):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(staff_in("Customer service"))
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert 'value="approve_referrals"' not in response.content.decode()
    act(client, "approve_referrals", held_pair)
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.HELD}
    assert available(inviter) == 0


def test_invite_codes_are_searchable_by_code_and_email(operator_client, inviter):
    code = selectors.invite_code_of(user_id=inviter.pk)
    response = operator_client.get(reverse("admin:accounts_invitecode_changelist"), {"q": code})
    assert response.context["cl"].result_count == 1
    by_email = operator_client.get(reverse("admin:accounts_invitecode_changelist"), {"q": "inviter@"})
    assert by_email.context["cl"].result_count == 1
    assert operator_client.get(reverse("admin:accounts_invitecode_add")).status_code == 403


def test_a_superuser_reviews_too(client, settings, held_pair, inviter):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    act(client, "approve_referrals", held_pair)
    assert available(inviter) == 100
