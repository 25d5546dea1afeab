"""Referrals (邀请好友): invite codes, binding, the inviter's rewards, caps, review holds, approve and deny."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress

from accounts import selectors, services
from accounts.enums import HoldReason, NoRewardReason, ReferralStatus
from accounts.exceptions import (
    InviteCodeUnknownError,
    ReferralAlreadyBoundError,
    ReferralNotDeniableError,
    ReferralNotFoundError,
    ReferralNotHeldError,
    ReferralSelfError,
)
from accounts.models import InviteCode, Notification, Referral
from points import selectors as points_selectors
from points import services as points_services
from tests.factories import MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)
IP = "203.0.113.7"


def code_of(user) -> str:
    return selectors.invite_code_of(user_id=user.pk)


def bind(invitee, inviter, ip: str | None = IP) -> str:
    return services.referral_bind(invitee_id=invitee.pk, code=code_of(inviter), signup_ip=ip)


def confirm(invitee) -> None:
    services.referral_confirm(invitee_id=invitee.pk, email=invitee.email)


def points(user) -> tuple[int, int]:
    """(available, pending) points of a member."""
    summary = points_selectors.balance_summary(user_id=user.pk)
    return summary.available, summary.pending


def referral_of(invitee) -> Referral:
    return Referral.objects.get(invitee=invitee)


def anonymise(user) -> None:
    """How a member leaves: the row stays (the ledger protects it), the e-mail address goes."""
    user.email = f"deleted-{user.pk}@invalid"
    user.is_active = False
    user.save()
    EmailAddress.objects.filter(user=user).update(email=user.email, verified=False, primary=False)


def inbox(user) -> list[tuple[str, str, str]]:
    """(title, body, link) of each message, oldest first, rendered in the active language (the reader's)."""
    return [(n.text().title, n.text().body, n.link) for n in Notification.objects.filter(user=user).order_by("pk")]


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def inviter(db):
    return MemberFactory(email="inviter@example.com")


@pytest.fixture
def friend(db):
    return MemberFactory(email="friend@example.com")


# ---------- invite codes ----------


def test_every_member_gets_an_invite_code_when_created(member):
    code = InviteCode.objects.get(user=member).code
    assert len(code) == 8
    assert set(code) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


def test_invite_code_ensure_returns_the_same_code_every_time(member):
    first = services.invite_code_ensure(user_id=member.pk)
    assert services.invite_code_ensure(user_id=member.pk) == first
    assert InviteCode.objects.filter(user=member).count() == 1


def test_invite_code_ensure_makes_a_code_for_a_member_without_one(member):
    InviteCode.objects.filter(user=member).delete()
    code = services.invite_code_ensure(user_id=member.pk)
    assert InviteCode.objects.get(user=member).code == code


def test_invite_code_ensure_tries_again_when_a_code_is_taken(member, other_member, monkeypatch):
    InviteCode.objects.filter(user=member).delete()
    taken = code_of(other_member)
    codes = iter([taken, "FRESH234"])
    monkeypatch.setattr("accounts.rules.new_invite_code", lambda choice: next(codes))
    assert services.invite_code_ensure(user_id=member.pk) == "FRESH234"
    assert code_of(other_member) == taken


def test_codes_are_found_however_they_are_typed_and_only_for_active_members(member):
    code = code_of(member)
    spaced = f" {code[:4].lower()}-{code[4:]} "
    assert selectors.invite_code_owner(code=spaced) == selectors.Inviter(user_id=member.pk, name="me***@example.com")
    member.display_name = "Alice 王"
    member.save()
    assert selectors.invite_code_owner(code=code).name == "Alice 王"
    member.is_active = False
    member.save()
    assert selectors.invite_code_owner(code=code) is None
    assert selectors.invite_code_owner(code="NOPE") is None


# ---------- binding ----------


def test_binding_links_the_new_member_to_the_inviter(inviter, friend, clock):
    assert bind(friend, inviter) == ReferralStatus.PENDING
    row = Referral.objects.values("inviter_id", "invitee_id", "status", "signup_ip", "created_at", "held_reason").get()
    assert row == {
        "inviter_id": inviter.pk,
        "invitee_id": friend.pk,
        "status": ReferralStatus.PENDING,
        "signup_ip": IP,
        "created_at": T0,
        "held_reason": "",
    }
    assert inbox(inviter) == []


def test_an_unknown_code_binds_nothing(friend):
    with pytest.raises(InviteCodeUnknownError):
        services.referral_bind(invitee_id=friend.pk, code="ZZZZ9999", signup_ip=IP)
    assert Referral.objects.count() == 0


def test_self_referral_is_refused_and_writes_nothing(member):
    with pytest.raises(ReferralSelfError) as refused:
        services.referral_bind(invitee_id=member.pk, code=code_of(member), signup_ip=IP)
    assert refused.value.message == "You cannot use your own invite code."
    assert Referral.objects.count() == 0
    assert Notification.objects.count() == 0


def test_a_second_binding_is_refused_and_the_first_stays(inviter, friend, other_member):
    bind(friend, inviter)
    with pytest.raises(ReferralAlreadyBoundError):
        bind(friend, other_member)
    assert list(Referral.objects.values_list("invitee_id", "inviter_id")) == [(friend.pk, inviter.pk)]


def test_a_deactivated_inviters_code_is_unknown(inviter, friend):
    inviter.is_active = False
    inviter.save()
    with pytest.raises(InviteCodeUnknownError):
        bind(friend, inviter)
    assert Referral.objects.count() == 0


# ---------- the sign-up reward ----------


def test_the_friends_confirmed_email_pays_the_inviter_after_the_hour_of_checks(inviter, friend, clock):
    bind(friend, inviter)
    clock.move_to(T0 + timedelta(minutes=10))
    confirm(friend)
    referral = referral_of(friend)
    assert (
        referral.status,
        referral.verified_at,
        referral.rewarded_at,
        referral.signup_points,
        referral.signup_available_at,
    ) == (ReferralStatus.APPROVED, T0 + timedelta(minutes=10), T0 + timedelta(minutes=10), 50, T0 + timedelta(hours=1))
    assert points(inviter) == (0, 50)
    assert points(friend) == (0, 0)
    assert inbox(inviter) == [
        (
            "Your friend fr***@example.com joined: 50 points for you",
            "They become available at 11:00, after a routine check of recent sign-ups. "
            "Their first purchase earns you a further reward.",
            "/me/invite/",
        )
    ]
    clock.move_to(T0 + timedelta(hours=1))
    points_services.points_vest_due()
    assert points(inviter) == (50, 0)


@pytest.mark.parametrize("confirmed_after", [timedelta(hours=1), timedelta(days=2)])
def test_a_confirmation_after_the_hour_pays_at_once(inviter, friend, clock, confirmed_after):
    bind(friend, inviter)
    clock.move_to(T0 + confirmed_after)
    confirm(friend)
    assert points(inviter) == (50, 0)
    assert inbox(inviter)[0][1] == "Thank you for inviting them. Their first purchase earns you a further reward."


def test_a_sign_up_without_a_known_ip_address_pays_at_once(inviter, friend):
    bind(friend, inviter, ip=None)
    confirm(friend)
    assert points(inviter) == (50, 0)


def test_confirming_twice_pays_once(inviter, friend):
    bind(friend, inviter, ip=None)
    confirm(friend)
    confirm(friend)
    assert points(inviter) == (50, 0)
    assert len(inbox(inviter)) == 1


def test_confirming_without_a_referral_does_nothing(member):
    services.referral_confirm(invitee_id=member.pk, email=member.email)
    assert Referral.objects.count() == 0
    assert points(member) == (0, 0)


def test_an_email_invited_before_earns_nothing_again(inviter, friend):
    """The friend's account is anonymised and the same address signs up again through the link."""
    bind(friend, inviter, ip=None)
    confirm(friend)
    anonymise(friend)
    again = MemberFactory(email="friend@example.com")
    bind(again, inviter, ip=None)
    confirm(again)
    referral = referral_of(again)
    assert (referral.status, referral.no_reward_reason, referral.signup_points) == (
        ReferralStatus.APPROVED,
        NoRewardReason.KNOWN_EMAIL,
        0,
    )
    assert points(inviter) == (50, 0)
    assert inbox(inviter)[-1][:2] == (
        "Your friend fr***@example.com joined",
        "This e-mail address was invited before, so this invitation earns no points.",
    )


def test_a_switched_off_reward_is_explained_and_still_counts_as_decided(inviter, friend, settings):
    from points.models import EarningRule  # the test sets an operator's switch; the app never imports it

    EarningRule.objects.filter(source="referral_signup").update(active=False)
    bind(friend, inviter, ip=None)
    confirm(friend)
    assert points(inviter) == (0, 0)
    assert referral_of(friend).signup_points == 0
    assert inbox(inviter)[0][:2] == (
        "Your friend fr***@example.com joined",
        "Points for Friend signed up are switched off at the moment.",
    )


# ---------- the monthly cap ----------


def test_over_the_monthly_cap_the_friend_is_bound_and_the_inviter_gets_nothing(inviter, settings, clock):
    settings.REFERRAL_MONTHLY_CAP = 2
    friends = [MemberFactory() for _ in range(3)]
    for each in friends:
        bind(each, inviter, ip=None)
        confirm(each)
    assert points(inviter) == (100, 0)
    last = referral_of(friends[2])
    assert (last.inviter_id, last.status, last.no_reward_reason, last.signup_points, last.rewarded_at) == (
        inviter.pk,
        ReferralStatus.APPROVED,
        NoRewardReason.MONTHLY_CAP,
        0,
        None,
    )
    assert inbox(inviter)[-1][1] == (
        "You have reached this month's limit of 2 rewarded invitations, so this one earns no points. "
        "The limit starts again on the 1st of next month."
    )
    # Nor does that friend's first purchase pay anything.
    points_services.purchase_record(user_id=friends[2].pk, external_id="CAP-1", amount=Decimal("10.00"))
    assert points(inviter) == (100, 0)
    assert referral_of(friends[2]).first_order_points == 0


def test_the_cap_starts_again_on_the_first_of_the_month_in_shanghai(inviter, settings):
    settings.REFERRAL_MONTHLY_CAP = 1
    first, second, third = MemberFactory(), MemberFactory(), MemberFactory()
    with time_machine.travel(datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), tick=False):
        for each in (first, second):
            bind(each, inviter, ip=None)
            confirm(each)
    with time_machine.travel(datetime(2027, 1, 1, 0, 10, tzinfo=SHANGHAI), tick=False):
        bind(third, inviter, ip=None)
        confirm(third)
        assert selectors.invite_summary(user_id=inviter.pk).rewarded_this_month == 1
    assert [referral_of(f).signup_points for f in (first, second, third)] == [50, 0, 50]
    assert points(inviter) == (100, 0)


# ---------- suspicious sign-ups: held for review ----------


def test_thirty_sign_ups_from_one_ip_in_an_hour_are_held(inviter, clock):
    """Each friend confirms at once; the first four rewards are pending when the fifth sign-up shows the burst."""
    friends = [MemberFactory() for _ in range(30)]
    for minute, each in enumerate(friends):
        clock.move_to(T0 + timedelta(minutes=minute))
        bind(each, inviter)
        confirm(each)
    assert [referral_of(each).status for each in friends] == [ReferralStatus.HELD] * 30
    assert Referral.objects.filter(held_reason=HoldReason.SAME_IP).count() == 30
    assert points(inviter) == (0, 0)
    clock.move_to(T0 + timedelta(days=1))
    points_services.points_vest_due()
    assert points(inviter) == (0, 0)
    assert selectors.invite_summary(user_id=inviter.pk).under_review == 30
    assert points_services.points_verify().ok


def test_a_burst_cancels_the_pending_rewards_of_the_earlier_sign_ups(inviter, clock):
    friends = [MemberFactory() for _ in range(4)]
    for each in friends:
        bind(each, inviter)
        confirm(each)
    points_services.purchase_record(user_id=friends[0].pk, external_id="B-1", amount=Decimal("10.00"))
    assert points(inviter) == (0, 4 * 50 + 30)
    clock.move_to(T0 + timedelta(minutes=30))
    assert bind(MemberFactory(), inviter) == ReferralStatus.HELD
    first = referral_of(friends[0])
    assert (
        first.status,
        first.reward_round,
        first.signup_points,
        first.rewarded_at,
        first.first_order_points,
        first.first_order_reference,
    ) == (ReferralStatus.HELD, 1, 0, None, 0, "shop.order:B-1")
    assert points(inviter) == (0, 0)
    assert [title for title, _body, _link in inbox(inviter)][-5:] == [
        "Your invitation of me***@example.com is being reviewed"
    ] * 5


def test_an_operator_approved_referral_is_not_held_again_by_a_later_burst(inviter, settings, clock):
    settings.REFERRAL_IP_HOURLY_LIMIT = 2
    reviewer = StaffFactory()
    first, second, third = MemberFactory(), MemberFactory(), MemberFactory()
    bind(first, inviter)
    bind(second, inviter)
    services.referral_approve(referral_id=referral_of(first).pk, reviewer_id=reviewer.pk)
    services.referral_approve(referral_id=referral_of(second).pk, reviewer_id=reviewer.pk)
    confirm(first)
    assert points(inviter) == (50, 0)
    bind(third, inviter)
    assert (referral_of(first).status, referral_of(third).status) == (ReferralStatus.APPROVED, ReferralStatus.HELD)
    assert points(inviter) == (50, 0)
    assert services.referral_hold(referral_id=referral_of(first).pk) is False


def test_holding_twice_or_a_denied_referral_changes_nothing(inviter, friend, clock):
    bind(friend, inviter)
    confirm(friend)
    referral = referral_of(friend)
    assert services.referral_hold(referral_id=referral.pk) is True
    assert services.referral_hold(referral_id=referral.pk) is False
    services.referral_deny(referral_id=referral.pk, reviewer_id=StaffFactory().pk)
    before = Referral.objects.filter(pk=referral.pk).values().get()
    assert services.referral_hold(referral_id=referral.pk) is False
    assert Referral.objects.filter(pk=referral.pk).values().get() == before
    assert points(inviter) == (0, 0)


def test_an_approved_burst_referral_is_paid_again_in_full(inviter, clock):
    friends = [MemberFactory() for _ in range(5)]
    for each in friends[:4]:
        bind(each, inviter)
        confirm(each)
    points_services.purchase_record(user_id=friends[0].pk, external_id="AG-1", amount=Decimal("10.00"))
    bind(friends[4], inviter)
    services.referral_approve(referral_id=referral_of(friends[0]).pk, reviewer_id=StaffFactory().pk)
    referral = referral_of(friends[0])
    assert (referral.status, referral.signup_points, referral.first_order_points) == (ReferralStatus.APPROVED, 50, 30)
    assert points(inviter) == (50, 30)
    assert [title for title, _body, _link in inbox(inviter)][-2:] == [
        "Your friend me***@example.com joined: 50 points for you",
        "me***@example.com made a first purchase",
    ]
    assert points_services.points_verify().ok


def test_the_sign_up_that_reaches_the_limit_holds_the_earlier_unconfirmed_ones_too(inviter, clock):
    friends = [MemberFactory() for _ in range(5)]
    statuses = [bind(each, inviter) for each in friends]
    assert statuses == [ReferralStatus.PENDING] * 4 + [ReferralStatus.HELD]
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.HELD}
    for each in friends:
        confirm(each)
    assert points(inviter) == (0, 0)
    assert inbox(inviter)[0][0] == f"Your invitation of {friends[0].email[:2]}***@example.com is being reviewed"
    assert len(inbox(inviter)) == 5


@pytest.mark.parametrize(("gap", "status"), [(timedelta(minutes=59), "held"), (timedelta(minutes=61), "pending")])
def test_the_ip_window_is_one_hour(inviter, clock, gap, status):
    for _ in range(4):
        bind(MemberFactory(), inviter)
    clock.move_to(T0 + gap)
    assert bind(MemberFactory(), inviter) == status


def test_the_ip_limit_is_a_setting_and_other_ips_are_not_affected(inviter, settings):
    settings.REFERRAL_IP_HOURLY_LIMIT = 2
    assert bind(MemberFactory(), inviter, ip="198.51.100.1") == ReferralStatus.PENDING
    assert bind(MemberFactory(), inviter, ip="198.51.100.2") == ReferralStatus.PENDING
    assert bind(MemberFactory(), inviter, ip="198.51.100.1") == ReferralStatus.HELD
    assert bind(MemberFactory(), inviter, ip=None) == ReferralStatus.PENDING


# ---------- the first-order reward ----------


def test_the_friends_first_purchase_pays_the_inviter_pending_until_its_returns_window_ends(inviter, friend, clock):
    bind(friend, inviter, ip=None)
    confirm(friend)
    points_services.purchase_record(user_id=friend.pk, external_id="SHOP-1", amount=Decimal("88.00"))
    referral = referral_of(friend)
    assert (referral.first_order_reference, referral.first_order_available_at, referral.first_order_points) == (
        "shop.order:SHOP-1",
        T0 + timedelta(days=7),
        30,
    )
    assert points(inviter) == (50, 30)
    assert inbox(inviter)[-1][:2] == (
        "fr***@example.com made a first purchase",
        "30 points for you, available from 2026-12-17, once your friend's returns window is over.",
    )
    summary = selectors.invite_summary(user_id=inviter.pk)
    assert (summary.earned, summary.pending) == (50, 30)
    assert summary.friends.object_list[0].first_order_pending is True
    # Only the first purchase counts.
    points_services.purchase_record(user_id=friend.pk, external_id="SHOP-2", amount=Decimal("500.00"))
    assert points(inviter) == (50, 30)
    clock.move_to(T0 + timedelta(days=7, seconds=1))
    points_services.points_vest_due()
    assert points(inviter) == (80, 0)
    summary = selectors.invite_summary(user_id=inviter.pk)
    assert (summary.earned, summary.pending) == (80, 0)


def test_a_purchase_before_the_email_is_confirmed_is_paid_on_confirmation(inviter, friend, clock):
    bind(friend, inviter)
    points_services.purchase_record(user_id=friend.pk, external_id="EARLY-1", amount=Decimal("20.00"))
    assert points(inviter) == (0, 0)
    clock.move_to(T0 + timedelta(days=1))
    confirm(friend)
    assert points(inviter) == (50, 30)
    assert referral_of(friend).first_order_available_at == T0 + timedelta(days=7)


def test_purchases_of_members_who_were_not_invited_change_nothing_here(member):
    points_services.purchase_record(user_id=member.pk, external_id="SOLO-1", amount=Decimal("20.00"))
    assert Referral.objects.count() == 0
    assert Notification.objects.filter(user=member).count() == 0


def test_recording_the_first_order_twice_pays_once(inviter, friend, clock):
    bind(friend, inviter, ip=None)
    confirm(friend)
    for _ in range(2):
        services.referral_first_order_record(
            invitee_id=friend.pk, reference="shop.order:X", available_at=T0 + timedelta(days=7)
        )
    assert points(inviter) == (50, 30)
    assert len(inbox(inviter)) == 2


def test_a_refund_inside_the_window_cancels_the_pending_reward(inviter, friend, clock):
    bind(friend, inviter, ip=None)
    confirm(friend)
    points_services.purchase_record(user_id=friend.pk, external_id="R-1", amount=Decimal("88.00"))
    clock.move_to(T0 + timedelta(days=3))
    assert services.referral_first_order_withdraw(invitee_id=friend.pk, reference="shop.order:R-1") is True
    assert services.referral_first_order_withdraw(invitee_id=friend.pk, reference="shop.order:R-1") is False
    assert points(inviter) == (50, 0)
    assert referral_of(friend).first_order_withdrawn_at == T0 + timedelta(days=3)
    summary = selectors.invite_summary(user_id=inviter.pk)
    assert (summary.earned, summary.pending, summary.friends.object_list[0].first_order_cancelled) == (50, 0, True)
    assert inbox(inviter)[-1][0] == "The first-order reward for fr***@example.com was cancelled"


def test_a_refund_after_the_window_takes_the_available_reward_back(inviter, friend, clock):
    bind(friend, inviter, ip=None)
    confirm(friend)
    points_services.purchase_record(user_id=friend.pk, external_id="R-2", amount=Decimal("88.00"))
    clock.move_to(T0 + timedelta(days=8))
    points_services.points_vest_due()
    assert points(inviter) == (80, 0)
    assert services.referral_first_order_withdraw(invitee_id=friend.pk, reference="shop.order:R-2") is True
    assert points(inviter) == (50, 0)
    assert referral_of(friend).first_order_withdrawn_at == T0 + timedelta(days=8)
    assert inbox(inviter)[-1][1] == (
        "Your friend's first order was cancelled or refunded, so the 30 points it earned you were taken back."
    )
    assert points_services.points_verify().ok


def test_a_refund_of_another_order_or_before_payment_is_handled(inviter, friend):
    bind(friend, inviter, ip=None)
    services.referral_first_order_record(
        invitee_id=friend.pk, reference="shop.order:Y", available_at=T0 + timedelta(days=7)
    )
    assert services.referral_first_order_withdraw(invitee_id=friend.pk, reference="shop.order:OTHER") is False
    # Not paid yet (the friend has not confirmed): it is never paid now.
    assert services.referral_first_order_withdraw(invitee_id=friend.pk, reference="shop.order:Y") is True
    confirm(friend)
    assert points(inviter) == (50, 0)
    assert referral_of(friend).first_order_points == 0


# ---------- review: approve and deny ----------


@pytest.fixture
def held(inviter, friend, settings):
    settings.REFERRAL_IP_HOURLY_LIMIT = 1
    bind(friend, inviter)
    return referral_of(friend)


@pytest.fixture
def reviewer(db):
    return StaffFactory()


def test_a_held_referral_pays_nothing_until_approved(held, friend, inviter, reviewer, clock):
    confirm(friend)
    points_services.purchase_record(user_id=friend.pk, external_id="H-1", amount=Decimal("88.00"))
    assert points(inviter) == (0, 0)
    services.referral_approve(referral_id=held.pk, reviewer_id=reviewer.pk)
    referral = referral_of(friend)
    assert (referral.status, referral.reviewed_by_id, referral.reviewed_at) == (
        ReferralStatus.APPROVED,
        reviewer.pk,
        T0,
    )
    assert points(inviter) == (50, 30)


def test_approving_before_the_friend_confirms_pays_on_confirmation(held, friend, inviter, reviewer):
    services.referral_approve(referral_id=held.pk, reviewer_id=reviewer.pk)
    assert points(inviter) == (0, 0)
    assert inbox(inviter)[-1][0] == "Your invitation of fr***@example.com was approved"
    confirm(friend)
    assert points(inviter) == (50, 0)


def test_a_denied_referral_never_pays(held, friend, inviter, reviewer, clock):
    services.referral_deny(referral_id=held.pk, reviewer_id=reviewer.pk)
    confirm(friend)
    points_services.purchase_record(user_id=friend.pk, external_id="D-1", amount=Decimal("88.00"))
    referral = referral_of(friend)
    assert (referral.status, referral.reviewed_by_id, referral.reviewed_at, referral.inviter_id) == (
        ReferralStatus.DENIED,
        reviewer.pk,
        T0,
        inviter.pk,
    )
    assert points(inviter) == (0, 0)
    assert inbox(inviter)[-1][0] == "Your invitation of fr***@example.com earns no rewards"


def test_only_held_referrals_can_be_approved(inviter, friend, reviewer):
    bind(friend, inviter, ip=None)
    before = inbox(inviter)
    with pytest.raises(ReferralNotHeldError) as refused:
        services.referral_approve(referral_id=referral_of(friend).pk, reviewer_id=reviewer.pk)
    assert refused.value.message == (
        "Only referrals held for review can be approved (this one: Waiting for e-mail confirmation)."
    )
    referral = referral_of(friend)
    assert (referral.status, referral.reviewed_by_id, referral.reviewed_at) == (ReferralStatus.PENDING, None, None)
    assert inbox(inviter) == before


def test_an_approved_referral_cannot_be_denied(inviter, friend, reviewer):
    bind(friend, inviter, ip=None)
    confirm(friend)
    before = inbox(inviter)
    with pytest.raises(ReferralNotDeniableError):
        services.referral_deny(referral_id=referral_of(friend).pk, reviewer_id=reviewer.pk)
    referral = referral_of(friend)
    assert (referral.status, referral.reviewed_by_id) == (ReferralStatus.APPROVED, None)
    assert points(inviter) == (50, 0)
    assert inbox(inviter) == before


def test_reviewing_an_unknown_referral_is_refused(reviewer):
    with pytest.raises(ReferralNotFoundError):
        services.referral_approve(referral_id=404, reviewer_id=reviewer.pk)
    with pytest.raises(ReferralNotFoundError):
        services.referral_deny(referral_id=404, reviewer_id=reviewer.pk)


# ---------- what the invite page reads ----------


def test_invite_summary_lists_friends_newest_first_with_masked_emails(inviter, clock):
    alice = MemberFactory(email="alice@example.com")
    bob = MemberFactory(email="bob@example.org")
    bind(alice, inviter, ip=None)
    confirm(alice)
    clock.move_to(T0 + timedelta(hours=1))
    bind(bob, inviter, ip=None)
    summary = selectors.invite_summary(user_id=inviter.pk)
    assert [(f.email_masked, f.status, f.signup_points) for f in summary.friends.object_list] == [
        ("bo***@example.org", ReferralStatus.PENDING, 0),
        ("al***@example.com", ReferralStatus.APPROVED, 50),
    ]
    assert (summary.invited, summary.earned, summary.pending, summary.under_review) == (2, 50, 0, 0)
    assert (summary.rewarded_this_month, summary.monthly_cap) == (1, 20)


def test_invite_summary_of_someone_who_invited_nobody(member):
    summary = selectors.invite_summary(user_id=member.pk)
    assert (summary.invited, summary.earned, summary.pending, list(summary.friends.object_list)) == (0, 0, 0, [])


def test_the_friends_first_redemption_pays_the_inviter_like_a_first_purchase(inviter, friend, clock):
    bind(friend, inviter, ip=None)
    confirm(friend)
    assert points(inviter) == (50, 0)
    points_services.points_earn(user_id=friend.pk, amount=200, idempotency_key="friend-earn")
    points_services.points_spend(
        user_id=friend.pk, amount=120, idempotency_key="friend-redeem", reference="catalog.order:7"
    )
    referral = referral_of(friend)
    assert (referral.first_order_reference, referral.first_order_available_at) == (
        "catalog.order:7",
        T0 + timedelta(days=7),
    )
    assert points(inviter) == (50, 30)
    # A second redemption pays nothing more.
    points_services.points_spend(user_id=friend.pk, amount=10, idempotency_key="friend-redeem-2")
    assert points(inviter) == (50, 30)


def test_a_fully_refunded_first_purchase_withdraws_the_pending_reward(inviter, friend, clock):
    bind(friend, inviter, ip=None)
    confirm(friend)
    points_services.purchase_record(user_id=friend.pk, external_id="SHOP-R", amount=Decimal("60.00"))
    assert points(inviter) == (50, 30)
    points_services.purchase_refund(external_id="SHOP-R", amount=Decimal("30.00"), idempotency_key="half")
    assert points(inviter) == (50, 30)  # a partial refund keeps the first order
    points_services.purchase_refund(external_id="SHOP-R", idempotency_key="rest")
    assert points(inviter) == (50, 0)
    assert points_services.points_verify().ok
