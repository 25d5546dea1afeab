"""Operators freeze and unfreeze members' points accounts from the risk view and the member admin;
the member is told; every change recorded (docs/decisions/0055)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.enums import RiskReason
from accounts.models import Notification, RiskFlag
from points import selectors as points_selectors
from points import services as points_services
from points.exceptions import AccountAlreadyFrozenError, FreezeReasonRequiredError, SelfFreezeError
from points.models import AccountFreeze
from tests.factories import MemberFactory


@pytest.fixture
def flagged(member):
    points_services.points_earn(user_id=member.pk, amount=100, idempotency_key="fund")
    services.risk_flag_raise(user_ids=[member.pk], reason=RiskReason.CHECKIN_BURST, evidence={"ip": "203.0.113.9"})
    return member


def staff_in(group: str):
    user = MemberFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def operator(db):
    return staff_in("Operators")


@pytest.fixture
def operator_client(client, settings, operator):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(operator)
    return client


def freeze_from_member_admin(client, member):
    """The member admin's "freeze" action on ``member``, with a reason (the page that asks for it answered)."""
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "freeze_members", "_selected_action": [member.pk], "apply": "1", "reason": "x"},
        follow=True,
    )


def inbox(user, language):
    with translation.override(language):
        return [
            (n.text().title, n.text().body, n.transactional)
            for n in Notification.objects.filter(user=user).order_by("pk")
        ]


def test_freezing_tells_the_member_in_their_language_and_unfreezing_too(flagged, operator):
    services.account_freeze(user_id=flagged.pk, actor_id=operator.pk, reason="Scripted check-ins")
    assert inbox(flagged, "en") == [
        (
            "Your points account is frozen",
            "You cannot earn or spend points until it is unfrozen. If you think this is a mistake, "
            "please contact support. Reason: Scripted check-ins",
            True,
        )
    ]
    assert inbox(flagged, "zh-hans")[0][0] == "您的积分账户已冻结"
    services.account_unfreeze(user_id=flagged.pk, actor_id=operator.pk, reason="Cleared")
    assert [title for title, _body, _t in inbox(flagged, "en")] == [
        "Your points account is frozen",
        "Your points account is unfrozen",
    ]


def test_refusals_write_nothing_and_tell_nobody(flagged, operator):
    with pytest.raises(FreezeReasonRequiredError):
        services.account_freeze(user_id=flagged.pk, actor_id=operator.pk, reason=" ")
    with pytest.raises(SelfFreezeError):
        services.account_freeze(user_id=operator.pk, actor_id=operator.pk, reason="me")
    services.account_freeze(user_id=flagged.pk, actor_id=operator.pk, reason="Review")
    with pytest.raises(AccountAlreadyFrozenError):
        services.account_freeze(user_id=flagged.pk, actor_id=operator.pk, reason="Again")
    assert (AccountFreeze.objects.count(), Notification.objects.count()) == (1, 1)


def test_the_risk_view_lists_member_reason_evidence_and_state(operator_client, flagged):
    response = operator_client.get(reverse("admin:accounts_riskflag_changelist"))
    assert response.status_code == 200
    text = response.content.decode()
    assert flagged.email in text and "203.0.113.9" in text
    assert "Freeze the flagged members" in text and "Resolve the selected flags" in text


def test_freezing_from_the_risk_view_asks_for_a_reason_then_freezes(operator_client, flagged, operator):
    url = reverse("admin:accounts_riskflag_changelist")
    flag = RiskFlag.objects.get()
    base = {"action": "freeze_members", "_selected_action": [flag.pk]}

    page = operator_client.post(url, base)
    assert page.status_code == 200 and "Reason" in page.content.decode()
    assert AccountFreeze.objects.count() == 0

    empty = operator_client.post(url, {**base, "apply": "1", "reason": "  "})
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    assert AccountFreeze.objects.count() == 0

    done = operator_client.post(url, {**base, "apply": "1", "reason": "Scripted check-ins"}, follow=True)
    assert "1 points account frozen." in done.content.decode()
    row = AccountFreeze.objects.get()
    assert (row.account.user_id, row.actor_id, row.reason) == (flagged.pk, operator.pk, "Scripted check-ins")

    operator_client.post(url, {"action": "resolve_flags", "_selected_action": [flag.pk]})
    flag.refresh_from_db()
    assert flag.resolved_by_id == operator.pk and flag.resolved_at is not None

    operator_client.post(
        url, {"action": "unfreeze_members", "_selected_action": [flag.pk], "apply": "1", "reason": "Cleared"}
    )
    assert points_selectors.account_frozen_since(user_id=flagged.pk) is None


def test_an_operator_cannot_freeze_their_own_account_from_the_member_admin(operator_client, operator):
    points_services.account_open(user_id=operator.pk)
    response = freeze_from_member_admin(operator_client, operator)
    assert "another operator must do it" in response.content.decode()
    assert AccountFreeze.objects.count() == 0


def test_staff_without_the_permission_are_not_offered_the_actions_and_cannot_post_them(client, settings, flagged):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(staff_in("Customer service"))
    url = reverse("admin:accounts_user_changelist")
    assert "freeze_members" not in client.get(url).content.decode()
    client.post(url, {"action": "freeze_members", "_selected_action": [flagged.pk], "apply": "1", "reason": "x"})
    assert AccountFreeze.objects.count() == 0
    assert points_selectors.account_frozen_since(user_id=flagged.pk) is None


def test_the_member_admin_shows_the_state_and_links_the_history(operator_client, flagged, operator):
    services.account_freeze(user_id=flagged.pk, actor_id=operator.pk, reason="Review")
    page = operator_client.get(reverse("admin:accounts_user_change", args=[flagged.pk])).content.decode()
    assert "Frozen since" in page
    history = reverse("admin:points_accountfreeze_changelist") + f"?account__user__id__exact={flagged.pk}"
    assert history.replace("&", "&amp;") in page or history in page
    listing = operator_client.get(history)
    assert listing.status_code == 200 and "Review" in listing.content.decode()


def test_nobody_edits_or_deletes_a_freeze_row_in_the_admin(client, settings, flagged, operator):
    services.account_freeze(user_id=flagged.pk, actor_id=operator.pk, reason="Review")
    settings.ADMIN_REQUIRE_MFA = False
    superuser = MemberFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    row = AccountFreeze.objects.get()
    assert client.get(reverse("admin:points_accountfreeze_add")).status_code == 403
    assert client.get(reverse("admin:points_accountfreeze_delete", args=[row.pk])).status_code == 403
    client.post(reverse("admin:points_accountfreeze_change", args=[row.pk]), {"reason": "changed"})
    row.refresh_from_db()
    assert row.reason == "Review"


def test_operators_hold_the_freeze_permission_and_customer_service_reads_the_history(db):
    operators = Group.objects.get(name="Operators").permissions
    service = Group.objects.get(name="Customer service").permissions
    assert operators.filter(codename="freeze_account", content_type__app_label="accounts").exists()
    assert operators.filter(codename="view_accountfreeze").exists()
    assert not operators.filter(
        codename__in=["add_accountfreeze", "change_accountfreeze", "delete_accountfreeze"]
    ).exists()
    assert service.filter(codename="view_accountfreeze").exists()
    assert not service.filter(codename="freeze_account").exists()


def test_an_operator_cannot_freeze_another_staff_account_only_a_superuser_can(operator_client, client, settings):
    colleague = staff_in("Operators")
    points_services.account_open(user_id=colleague.pk)
    response = freeze_from_member_admin(operator_client, colleague)
    assert "only a superuser may do it" in response.content.decode()
    assert AccountFreeze.objects.count() == 0
    client.force_login(MemberFactory(is_staff=True, is_superuser=True))
    freeze_from_member_admin(client, colleague)
    assert AccountFreeze.objects.filter(account__user=colleague).count() == 1
