"""One person, one once-per-person reward: normalised e-mail identities, the operators' identity
policy, self-referrals, and phone numbers that count only once verified by SMS code."""

from __future__ import annotations

import importlib
import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from accounts import rules, selectors, services, sms
from accounts.enums import NoRewardReason, ReferralStatus
from accounts.exceptions import (
    PhoneAlreadyVerifiedError,
    PhoneCodeExpiredError,
    PhoneCodeIncorrectError,
    PhoneCodeLimitReachedError,
    PhoneCodeTooSoonError,
    PhoneNotSetError,
    PhoneNotVerifiableError,
)
from accounts.models import EmailProviderRule, IdentityPolicy, Notification, PhoneVerification, Referral, User
from points import selectors as points_selectors
from points import services as points_services
from tests.factories import MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 10, 10, tzinfo=SHANGHAI)
PASSWORD = "plum-Orchard-walks-42"
PHONE = "13812345678"
ALREADY_GIVEN = "The sign-up bonus was already given to this e-mail address or phone."
SELF_LABEL = "The friend's e-mail or phone is the inviter's own"
NOT_VERIFIABLE = (
    "This number is already verified on another account, so it cannot be verified here. "
    "If that account is yours, sign in to it; otherwise contact customer service."
)
DEFAULTS = rules.EmailIdentityRules()


def available(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).available


def pending(user) -> int:
    return points_selectors.balance_summary(user_id=user.pk).pending


def inbox(user) -> list[tuple[str, str]]:
    """(title, body) of each message, oldest first, rendered in the active language (the reader's)."""
    return [(n.text().title, n.text().body) for n in Notification.objects.filter(user=user).order_by("pk")]


def code_of(user) -> str:
    return selectors.invite_code_of(user_id=user.pk)


def sign_up_and_confirm(client, email: str, invite_code: str = "") -> User:
    """The whole allauth flow: the sign-up form (with an invite code), then the e-mailed link."""
    client.logout()
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD, "invite_code": invite_code}
    response = client.post(reverse("account_signup"), data, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    assert client.post(match.group(1)).status_code == 302
    return User.objects.get(email=email.lower())


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def send_code(sms_outbox, django_capture_on_commit_callbacks):
    """Send a code to the member's profile phone and return it, as the SMS carried it."""

    def send(user) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            services.phone_code_send(user_id=user.pk)
        return re.search(r"\b(\d{6})\b", sms_outbox[-1].text).group(1)

    return send


def verified(user) -> tuple[str | None, bool]:
    user.refresh_from_db()
    return user.phone, user.phone_verified_at is not None


# ---------- the rule: which addresses are one mailbox ----------


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice@Example.COM ", "alice@example.com"),
        ("alice+1@example.com", "alice@example.com"),
        ("alice+shop+2@example.com", "alice@example.com"),
        ("a.l.i.c.e@example.com", "a.l.i.c.e@example.com"),  # dots count outside the listed providers
        ("A.Lice+news@Gmail.com", "alice@gmail.com"),
        ("a.lice@googlemail.com", "alice@gmail.com"),
        ("alice@gmail.com.", "alice@gmail.com"),
        ("ali\u200bce@exam\u200bple.com", "alice@example.com"),
        ("\ufeffalice@example.com", "alice@example.com"),
        ("bob@Exämple.com", "bob@xn--exmple-cua.com"),
        ("bob@xn--exmple-cua.com", "bob@xn--exmple-cua.com"),
        ("+tag@example.com", "+tag@example.com"),  # nothing before the tag: the whole name is the name
        ("...@gmail.com", "...@gmail.com"),
        ("王小明@例子.中国", "王小明@xn--fsqu00a.xn--fiqs8s"),
    ],
)
def test_addresses_are_normalised_to_their_mailbox(address, mailbox):
    assert rules.normalize_email_identity(address, DEFAULTS) == mailbox


def test_the_rules_follow_what_operators_chose():
    strict = rules.EmailIdentityRules(ignore_plus_tags=False, dotless_domains=frozenset(), domain_aliases={})
    assert rules.normalize_email_identity("A.Lice+1@googlemail.com", strict) == "a.lice+1@googlemail.com"
    custom = rules.EmailIdentityRules(dotless_domains=frozenset({"qq.com"}), domain_aliases={"foxmail.com": "qq.com"})
    assert rules.normalize_email_identity("a.b+c@foxmail.com", custom) == "ab@qq.com"


def test_the_default_policy_row_comes_from_the_migration(db):
    assert IdentityPolicy.objects.get().ignore_plus_tags is True
    assert list(EmailProviderRule.objects.values_list("domain", "ignore_dots", "same_as")) == [
        ("gmail.com", True, ""),
        ("googlemail.com", True, "gmail.com"),
    ]
    assert selectors.email_identity_rules() == rules.EmailIdentityRules(
        ignore_plus_tags=True,
        dotless_domains=frozenset({"gmail.com", "googlemail.com"}),
        domain_aliases={"googlemail.com": "gmail.com"},
    )


def test_without_a_policy_row_the_defaults_apply(db):
    IdentityPolicy.objects.all().delete()
    assert selectors.email_identity_rules() == DEFAULTS


# ---------- the sign-up bonus: once per mailbox ----------


def test_plus_tagged_addresses_of_one_mailbox_get_one_sign_up_bonus(client, db, clock):
    first = sign_up_and_confirm(client, "alice+1@example.com")
    clock.shift(timedelta(minutes=5))
    second = sign_up_and_confirm(client, "alice+2@example.com")
    assert (available(first), available(second)) == (100, 0)
    assert inbox(second)[-1] == ("About your sign-up bonus", ALREADY_GIVEN)
    assert points_services.points_verify().ok


def test_gmail_dots_and_googlemail_are_one_mailbox_for_the_bonus(client, db, clock):
    first = sign_up_and_confirm(client, "alice.smith@gmail.com")
    clock.shift(timedelta(minutes=5))
    second = sign_up_and_confirm(client, "AliceSmith+promo@googlemail.com")
    assert (available(first), available(second)) == (100, 0)


def test_dots_count_at_a_provider_where_they_make_another_mailbox(db):
    first, second = MemberFactory(email="a.lee@example.com"), MemberFactory(email="alee@example.com")
    assert services.signup_bonus_claim(user_id=first.pk, email=first.email).granted == 100
    assert services.signup_bonus_claim(user_id=second.pk, email=second.email).granted == 100
    assert points_services.points_verify().ok


def test_an_operator_switching_tags_off_lets_tagged_addresses_count_as_people(db):
    IdentityPolicy.objects.filter(pk=1).update(ignore_plus_tags=False)
    first, second = MemberFactory(email="team+a@example.com"), MemberFactory(email="team+b@example.com")
    assert services.signup_bonus_claim(user_id=first.pk, email=first.email).granted == 100
    assert services.signup_bonus_claim(user_id=second.pk, email=second.email).granted == 100


def test_a_provider_an_operator_adds_in_admin_applies_to_the_next_claim(client, db, settings):
    client.force_login(StaffFactory())
    settings.ADMIN_REQUIRE_MFA = False
    url = reverse("admin:accounts_identitypolicy_change", args=[1])
    assert client.get(url).status_code == 200
    response = client.post(url, _policy_form(extra=[("QQ.com", True, ""), ("foxmail.com", True, "qq.com")]))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    first, second = MemberFactory(email="x.y@qq.com"), MemberFactory(email="xy+z@foxmail.com")
    assert services.signup_bonus_claim(user_id=first.pk, email=first.email).granted == 100
    assert services.signup_bonus_claim(user_id=second.pk, email=second.email).granted == 0


def _policy_form(*, extra=(), ignore_plus_tags=True) -> dict:
    rows = list(EmailProviderRule.objects.order_by("pk").values("pk", "domain", "ignore_dots", "same_as"))
    data = {
        "ignore_plus_tags": "on" if ignore_plus_tags else "",
        "providers-TOTAL_FORMS": str(len(rows) + len(extra)),
        "providers-INITIAL_FORMS": str(len(rows)),
        "providers-MIN_NUM_FORMS": "0",
        "providers-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data |= {
            f"providers-{index}-id": str(row["pk"]),
            f"providers-{index}-policy": "1",
            f"providers-{index}-domain": row["domain"],
            f"providers-{index}-same_as": row["same_as"],
        }
        if row["ignore_dots"]:
            data[f"providers-{index}-ignore_dots"] = "on"
    for offset, (domain, ignore_dots, same_as) in enumerate(extra):
        index = len(rows) + offset
        data |= {
            f"providers-{index}-policy": "1",
            f"providers-{index}-domain": domain,
            f"providers-{index}-same_as": same_as,
        }
        if ignore_dots:
            data[f"providers-{index}-ignore_dots"] = "on"
    return data


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (("alice@gmail.com", True, ""), "domain", "Enter a domain name such as gmail.com, without @ or spaces."),
        (("mail box.com", True, ""), "domain", "Enter a domain name such as gmail.com, without @ or spaces."),
        (("localhost", True, ""), "domain", "Enter a domain name such as gmail.com, without @ or spaces."),
        (("", True, ""), "domain", "This field is required."),
        (("x" * 300 + ".com", True, ""), "domain", "Ensure this value has at most 253 characters (it has 304)."),
        (("gmail.com", True, ""), "domain", "E-mail provider rule with this Domain already exists."),
        (("mail.example", False, "mail.example"), "same_as", None),
        (("mail.example", False, "not a domain"), "same_as", None),
    ],
)
def test_the_policy_admin_refuses_bad_provider_rows_and_saves_nothing(client, db, settings, row, field, message):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    before = list(EmailProviderRule.objects.values_list("domain", "ignore_dots", "same_as"))
    response = client.post(
        reverse("admin:accounts_identitypolicy_change", args=[1]), _policy_form(extra=[row], ignore_plus_tags=False)
    )
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[-1]
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert list(EmailProviderRule.objects.values_list("domain", "ignore_dots", "same_as")) == before
    assert IdentityPolicy.objects.get().ignore_plus_tags is True
    assert selectors.email_identity_rules() == rules.EmailIdentityRules()


def test_the_policy_cannot_be_added_twice_or_deleted(client, db, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(StaffFactory())
    assert client.get(reverse("admin:accounts_identitypolicy_add")).status_code == 403
    assert client.get(reverse("admin:accounts_identitypolicy_delete", args=[1])).status_code == 403


def test_claims_made_before_normalisation_still_refuse_the_same_address(db):
    """Claims stored before hashed the address as typed; a claim now holds both forms."""
    old = MemberFactory(email="zoe+old@example.com")
    points_services.signup_bonus_grant(user_id=old.pk, identities=["email:Zoe+old@example.com"])
    old.email = "gone@invalid"
    old.save()
    EmailAddress.objects.filter(user=old).delete()
    again = MemberFactory(email="zoe+old@example.com")
    assert services.signup_bonus_claim(user_id=again.pk, email="Zoe+Old@example.com").granted == 0


def test_a_claim_holds_the_address_as_typed_and_its_mailbox(db):
    member = MemberFactory(email="Ann.Lee+x@Gmail.com")
    services.signup_bonus_claim(user_id=member.pk, email=member.email)
    for identity in ("email:ann.lee+x@gmail.com", "email:annlee@gmail.com"):
        newcomer = MemberFactory()
        assert points_services.signup_bonus_grant(user_id=newcomer.pk, identities=[identity]).granted == 0


# ---------- self-referral ----------


def test_inviting_an_existing_members_plus_address_earns_the_inviter_nothing(client, db, clock):
    """dave "invites" alice+1@, but alice@ is a member already: she is no new friend."""
    alice = sign_up_and_confirm(client, "alice@example.com")
    dave = sign_up_and_confirm(client, "dave@example.com")
    clock.shift(timedelta(minutes=5))
    alt = sign_up_and_confirm(client, "Alice+1@Example.com", invite_code=code_of(dave))
    referral = Referral.objects.get(invitee=alt)
    assert (referral.inviter_id, referral.no_reward_reason, referral.signup_points) == (
        dave.pk,
        NoRewardReason.KNOWN_EMAIL,
        0,
    )
    assert (available(dave), pending(dave), available(alt), pending(alt)) == (100, 0, 0, 0)
    assert available(alice) == 100
    clock.shift(timedelta(hours=2))
    services.referral_first_order_record(invitee_id=alt.pk, reference="shop.order:1", available_at=T0)
    assert (available(dave), pending(dave)) == (100, 0)
    assert points_services.points_verify().ok


def test_inviting_your_own_plus_address_earns_nobody_anything(client, db, clock):
    alice = sign_up_and_confirm(client, "alice@example.com")
    clock.shift(timedelta(minutes=5))
    alt = sign_up_and_confirm(client, "alice+2@example.com", invite_code=code_of(alice))
    referral = Referral.objects.get(invitee=alt)
    assert (referral.inviter_id, referral.status, referral.no_reward_reason) == (
        alice.pk,
        ReferralStatus.APPROVED,
        NoRewardReason.SELF_REFERRAL,
    )
    assert (available(alice), pending(alice), available(alt), pending(alt)) == (100, 0, 0, 0)
    assert inbox(alice)[-1] == (
        "Your friend al***@example.com joined",
        "This account has your own e-mail address or phone number, so this invitation earns no points.",
    )
    # Nor does the "friend's" first order, whenever it comes.
    clock.shift(timedelta(hours=2))
    services.referral_first_order_record(invitee_id=alt.pk, reference="shop.order:1", available_at=T0)
    referral.refresh_from_db()
    assert (referral.first_order_points, referral.first_order_entry_id) == (0, None)
    assert (available(alice), pending(alice)) == (100, 0)
    assert points_services.points_verify().ok


def test_inviting_your_own_gmail_spelling_is_a_self_referral(db):
    alice = MemberFactory(email="alice.smith@gmail.com")
    alt = MemberFactory(email="ALICESMITH@googlemail.com")
    services.referral_bind(invitee_id=alt.pk, code=code_of(alice))
    services.referral_confirm(invitee_id=alt.pk, email=alt.email)
    assert Referral.objects.get(invitee=alt).no_reward_reason == NoRewardReason.SELF_REFERRAL
    assert available(alice) == 0


def test_any_address_of_either_account_counts_even_unconfirmed(db):
    alice = MemberFactory(email="alice@example.com")
    EmailAddress.objects.create(user=alice, email="work.alice@example.org", verified=False, primary=False)
    alt = MemberFactory(email="work.alice+x@example.org")
    services.referral_bind(invitee_id=alt.pk, code=code_of(alice))
    services.referral_confirm(invitee_id=alt.pk, email=alt.email)
    assert Referral.objects.get(invitee=alt).no_reward_reason == NoRewardReason.SELF_REFERRAL


def test_the_same_verified_phone_is_the_same_person_but_a_typed_one_is_not(db):
    inviter = MemberFactory(email="boss@example.com", phone=PHONE, phone_verified_at=T0)
    squatter = MemberFactory(email="other@example.net", phone=PHONE)  # typed, never verified
    assert f"phone:{PHONE}" in selectors.person_identities(user_id=inviter.pk)
    assert f"phone:{PHONE}" not in selectors.person_identities(user_id=squatter.pk)
    services.referral_bind(invitee_id=squatter.pk, code=code_of(inviter))
    services.referral_confirm(invitee_id=squatter.pk, email=squatter.email)
    assert Referral.objects.get(invitee=squatter).no_reward_reason == ""
    assert available(inviter) == 50


def test_a_self_referral_takes_no_place_under_the_monthly_cap(db, settings, clock):
    settings.REFERRAL_MONTHLY_CAP = 1
    alice = MemberFactory(email="alice@example.com")
    alt = MemberFactory(email="alice+alt@example.com")
    friend = MemberFactory(email="friend@example.com")
    for invitee in (alt, friend):
        services.referral_bind(invitee_id=invitee.pk, code=code_of(alice))
        services.referral_confirm(invitee_id=invitee.pk, email=invitee.email)
    assert dict(Referral.objects.values_list("invitee__email", "no_reward_reason")) == {
        "alice+alt@example.com": NoRewardReason.SELF_REFERRAL,
        "friend@example.com": "",
    }
    assert available(alice) == 50
    assert selectors.invite_summary(user_id=alice.pk).rewarded_this_month == 1


def test_an_operator_approving_a_held_self_referral_pays_nothing(db, clock):
    alice, alt = MemberFactory(email="alice@example.com"), MemberFactory(email="alice+held@example.com")
    services.referral_bind(invitee_id=alt.pk, code=code_of(alice))
    Referral.objects.filter(invitee=alt).update(status=ReferralStatus.HELD)
    services.referral_confirm(invitee_id=alt.pk, email=alt.email)
    services.referral_approve(referral_id=Referral.objects.get(invitee=alt).pk, reviewer_id=StaffFactory().pk)
    assert (available(alice), pending(alice)) == (0, 0)


def test_admin_shows_why_a_self_referral_earned_nothing(client, db, settings):
    settings.ADMIN_REQUIRE_MFA = False
    alice, alt = MemberFactory(email="alice@example.com"), MemberFactory(email="alice+2@example.com")
    services.referral_bind(invitee_id=alt.pk, code=code_of(alice))
    services.referral_confirm(invitee_id=alt.pk, email=alt.email)
    client.force_login(StaffFactory())
    listing = client.get(reverse("admin:accounts_referral_changelist"), {"no_reward_reason": "self_referral"})
    assert list(listing.context["cl"].result_list) == [Referral.objects.get(invitee=alt)]
    page = client.get(reverse("admin:accounts_referral_change", args=[Referral.objects.get(invitee=alt).pk]))
    assert escape(SELF_LABEL) in page.content.decode()


def test_a_mailbox_invited_before_earns_nothing_again_in_another_spelling(db):
    bob, carol = MemberFactory(email="bob@example.com"), MemberFactory(email="carol@example.com")
    first, second = MemberFactory(email="dora+1@example.com"), MemberFactory(email="Dora+2@Example.com")
    services.referral_bind(invitee_id=first.pk, code=code_of(bob))
    services.referral_confirm(invitee_id=first.pk, email=first.email)
    services.referral_bind(invitee_id=second.pk, code=code_of(carol))
    services.referral_confirm(invitee_id=second.pk, email=second.email)
    assert Referral.objects.get(invitee=second).no_reward_reason == NoRewardReason.KNOWN_EMAIL
    assert Referral.objects.get(invitee=second).invitee_identity == points_services.identity_hash(
        "email:dora@example.com"
    )
    assert (available(bob), available(carol)) == (50, 0)


def test_the_migration_rehashes_invited_addresses_as_their_mailbox(db, settings):
    import hashlib
    import hmac

    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0008_identity_policy_defaults")
    inviter, friend = MemberFactory(), MemberFactory(email="Eve+x@GoogleMail.com")
    services.referral_bind(invitee_id=friend.pk, code=code_of(inviter))
    old = hmac.new(settings.SECRET_KEY.encode(), b"eve+x@googlemail.com", hashlib.sha256).hexdigest()
    Referral.objects.filter(invitee=friend).update(invitee_identity=old)
    migration.rehash_invited_emails(apps, None)
    migration.rehash_invited_emails(apps, None)  # idempotent
    assert Referral.objects.get(invitee=friend).invitee_identity == points_services.identity_hash("email:eve@gmail.com")


# ---------- phone numbers count only once verified ----------


def test_the_profile_accepts_a_number_someone_else_verified_and_says_nothing_about_it(client, db):
    MemberFactory(phone=PHONE, phone_verified_at=T0)
    answers = []
    for phone in (PHONE, "13987654321"):  # taken, free: the same answer
        member = MemberFactory()
        client.force_login(member)
        response = client.post(reverse("profile"), {"display_name": "", "phone": phone, "language": "en"}, follow=True)
        answers.append(
            (response.redirect_chain, [str(m) for m in get_messages(response.wsgi_request)], verified(member)[1])
        )
    assert answers[0] == answers[1] == ([(reverse("profile"), 302)], ["Your profile is saved."], False)


def test_an_unverified_number_does_not_count_for_the_sign_up_bonus(db):
    owner = MemberFactory(phone=PHONE, phone_verified_at=T0)
    services.signup_bonus_claim(user_id=owner.pk, email=owner.email)
    squatter = MemberFactory(phone=PHONE)
    assert services.signup_bonus_claim(user_id=squatter.pk, email=squatter.email).granted == 100
    # And the squatter's typing never blocks the owner: the owner's number stays theirs.
    assert verified(owner) == (PHONE, True)
    assert points_services.points_verify().ok


def test_a_number_typed_first_by_a_squatter_can_still_be_verified_by_its_holder(db, send_code):
    squatter = MemberFactory(phone=PHONE)
    services.signup_bonus_claim(user_id=squatter.pk, email=squatter.email)
    holder = MemberFactory(phone=PHONE)
    services.phone_code_confirm(user_id=holder.pk, code=send_code(holder))
    assert verified(holder) == (PHONE, True)
    assert verified(squatter) == (PHONE, False)


def test_a_code_is_sent_by_sms_in_the_members_language_and_only_its_hash_is_kept(db, send_code, sms_outbox, clock):
    member = MemberFactory(phone=PHONE, language="zh-hans")
    code = send_code(member)
    assert [m.phone for m in sms_outbox] == [PHONE]
    assert sms_outbox[0].text == f"您的积分商城验证码是 {code}，10 分钟内有效。请勿告诉任何人。"
    row = PhoneVerification.objects.get(user=member)
    assert (row.phone, row.expires_at, row.failed_attempts, row.used_at) == (PHONE, T0 + timedelta(minutes=10), 0, None)
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_the_right_code_verifies_the_number_and_claims_it_for_the_bonus(db, send_code, clock):
    member = MemberFactory(phone=PHONE)
    services.signup_bonus_claim(user_id=member.pk, email=member.email)
    services.phone_code_confirm(user_id=member.pk, code=send_code(member))
    member.refresh_from_db()
    assert (member.phone, member.phone_verified_at) == (PHONE, T0)
    assert PhoneVerification.objects.get(user=member).used_at == T0
    newcomer = MemberFactory()
    assert points_services.signup_bonus_grant(user_id=newcomer.pk, identities=[f"phone:{PHONE}"]).granted == 0
    services.phone_code_confirm(user_id=member.pk, code="000000")  # already verified: nothing changes
    assert verified(member) == (PHONE, True)


def test_a_number_verified_on_another_account_is_refused_at_verification_neutrally(db, send_code):
    MemberFactory(phone=PHONE, phone_verified_at=T0)
    member = MemberFactory(phone=PHONE)
    code = send_code(member)  # sent as for any number: sending tells nothing
    with pytest.raises(PhoneNotVerifiableError) as refused:
        services.phone_code_confirm(user_id=member.pk, code=code)
    assert refused.value.message == NOT_VERIFIABLE
    assert verified(member) == (PHONE, False)
    with pytest.raises(PhoneCodeExpiredError):
        services.phone_code_confirm(user_id=member.pk, code=code)  # a used code is used up


def test_wrong_codes_count_down_and_the_fifth_ends_the_code(db, send_code):
    member = MemberFactory(phone=PHONE)
    code = send_code(member)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(PhoneCodeIncorrectError) as error:
            services.phone_code_confirm(user_id=member.pk, code=wrong)
        assert error.value.attempts_left == left
    with pytest.raises(PhoneCodeExpiredError):
        services.phone_code_confirm(user_id=member.pk, code=code)
    assert PhoneVerification.objects.get(user=member).failed_attempts == 5
    assert verified(member) == (PHONE, False)


def test_a_code_expires_after_ten_minutes(db, send_code, clock):
    member = MemberFactory(phone=PHONE)
    code = send_code(member)
    clock.shift(timedelta(minutes=10))
    with pytest.raises(PhoneCodeExpiredError):
        services.phone_code_confirm(user_id=member.pk, code=code)


def test_codes_are_rationed_one_a_minute_and_five_a_day(db, send_code, clock, sms_outbox):
    member = MemberFactory(phone=PHONE)
    send_code(member)
    clock.shift(timedelta(seconds=59))
    with pytest.raises(PhoneCodeTooSoonError) as soon:
        services.phone_code_send(user_id=member.pk)
    assert soon.value.message == "A code was sent a moment ago. You can ask for another one in 1 second."
    for _ in range(4):
        clock.shift(timedelta(minutes=1))
        send_code(member)
    clock.shift(timedelta(minutes=1))
    with pytest.raises(PhoneCodeLimitReachedError) as limit:
        services.phone_code_send(user_id=member.pk)
    assert limit.value.message == "You have asked for 5 codes within 24 hours. Please try again tomorrow."
    assert len(sms_outbox) == 5
    clock.shift(timedelta(hours=24))
    send_code(member)
    assert len(sms_outbox) == 6


def test_only_the_newest_code_for_the_current_number_counts(db, send_code, clock):
    member = MemberFactory(phone=PHONE)
    first = send_code(member)
    services.profile_update(user_id=member.pk, display_name="", phone="13900001111", language="en")
    with pytest.raises(PhoneCodeExpiredError):
        services.phone_code_confirm(user_id=member.pk, code=first)
    clock.shift(timedelta(minutes=1))
    services.phone_code_confirm(user_id=member.pk, code=send_code(member))
    assert verified(member) == ("13900001111", True)


def test_changing_a_verified_number_makes_it_unverified_and_keeping_it_does_not(db):
    member = MemberFactory(phone=PHONE, phone_verified_at=T0)
    services.profile_update(user_id=member.pk, display_name="Me", phone="+86 138 1234 5678", language="en")
    assert verified(member) == (PHONE, True)
    services.profile_update(user_id=member.pk, display_name="Me", phone="13900001111", language="en")
    assert verified(member) == ("13900001111", False)


def test_sending_needs_an_unverified_number(db):
    with pytest.raises(PhoneNotSetError):
        services.phone_code_send(user_id=MemberFactory().pk)
    with pytest.raises(PhoneAlreadyVerifiedError):
        services.phone_code_send(user_id=MemberFactory(phone=PHONE, phone_verified_at=T0).pk)
    assert PhoneVerification.objects.count() == 0


def test_the_database_allows_one_verified_holder_and_many_typists(db):
    from django.db import IntegrityError, transaction

    MemberFactory(phone=PHONE)
    MemberFactory(phone=PHONE)
    MemberFactory(phone=PHONE, phone_verified_at=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(phone=PHONE, phone_verified_at=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(phone=None, phone_verified_at=T0)


def test_the_verification_page_sends_and_confirms(client, db, sms_outbox, django_capture_on_commit_callbacks):
    member = MemberFactory(phone=PHONE)
    client.force_login(member)
    profile = client.get(reverse("profile")).content.decode()
    assert 'data-testid="phone-verify-link"' in profile
    url = reverse("phone_verify")
    page = client.get(url).content.decode()
    assert "We text a 6-digit code to 138****5678." in page
    assert 'data-testid="phone-code-form"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {"action": "send"}, follow=True)
    assert [str(m) for m in get_messages(sent.wsgi_request)] == ["We sent a code to 138****5678."]
    assert 'data-testid="phone-code-form"' in sent.content.decode()
    wrong = client.post(url, {"action": "confirm", "code": "12345"})
    assert wrong.context["form"].errors == {"code": ["The code is the 6 digits in the text message."]}
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].text).group(1)
    done = client.post(url, {"action": "confirm", "code": f" {code[:3]} {code[3:]}"}, follow=True)
    assert done.redirect_chain == [(reverse("profile"), 302)]
    assert [str(m) for m in get_messages(done.wsgi_request)] == ["Your phone number is verified."]
    assert 'data-testid="phone-verify-link"' not in done.content.decode()
    assert verified(member) == (PHONE, True)
    assert client.get(url)["Location"] == reverse("profile")


def test_the_verification_page_shows_a_refusal_without_naming_anyone(client, db, send_code):
    MemberFactory(phone=PHONE, phone_verified_at=T0)
    member = MemberFactory(phone=PHONE)
    client.force_login(member)
    code = send_code(member)
    response = client.post(reverse("phone_verify"), {"action": "confirm", "code": code}, follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [NOT_VERIFIABLE]
    assert verified(member) == (PHONE, False)


def test_an_operator_changing_a_members_number_unverifies_it(client, db, settings):
    settings.ADMIN_REQUIRE_MFA = False
    member = MemberFactory(phone=PHONE, phone_verified_at=T0)
    client.force_login(StaffFactory())
    url = reverse("admin:accounts_user_change", args=[member.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data |= {"phone": "13900001111", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("avatar", None)
    same_number = client.post(url, data | {"phone": "+86 138 1234 5678"})
    assert same_number.status_code == 302, same_number.context["adminform"].form.errors
    assert verified(member) == (PHONE, True)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert verified(member) == ("13900001111", False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_members_verifying_one_number_at_once_end_with_one_holder(settings):
    settings.SMS_BACKEND = "accounts.sms.LocmemBackend"
    sms.outbox.clear()
    members = [MemberFactory(phone=PHONE), MemberFactory(phone=PHONE)]
    codes = []
    for member in members:
        services.phone_code_send(user_id=member.pk)  # no outer transaction: the SMS goes on commit
        codes.append(re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1))
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def confirm(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = services.phone_code_confirm(user_id=members[index].pk, code=codes[index])
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "PhoneNotVerifiableError"]
    assert User.objects.filter(phone=PHONE, phone_verified_at__isnull=False).count() == 1
