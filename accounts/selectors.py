"""Reads of the accounts app. Other apps get small frozen dataclasses, never models."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts import rules
from accounts.enums import (
    ALWAYS_ON,
    DEFAULT_CHANNELS,
    NoRewardReason,
    NotificationChannel,
    NotificationKind,
    ReferralStatus,
)
from accounts.exceptions import AddressNotFoundError
from accounts.models import (
    Address,
    EmailProviderRule,
    IdentityPolicy,
    InviteCode,
    MemberDevice,
    Notification,
    NotificationPreference,
    PaymentPin,
    PhoneVerification,
    Referral,
)
from points import selectors as points_selectors
from pointsmall.kernel import clock
from pointsmall.kernel.masking import mask_email, mask_phone

INBOX_PAGE_SIZE = 20
INVITED_PAGE_SIZE = 20
DEFAULT_REFERRAL_MONTHLY_CAP = 20
DEFAULT_REFERRAL_IP_HOURLY_LIMIT = 5


@dataclass(frozen=True)
class AddressView:
    id: int
    user_id: int
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str
    is_default: bool
    created_at: datetime

    @property
    def region(self) -> str:
        return " ".join(part for part in (self.province, self.city, self.district) if part)

    @property
    def full_address(self) -> str:
        """One line, the way a courier label reads: region, street, postal code."""
        line = f"{self.region} {self.detail}"
        return f"{line} ({self.postal_code})" if self.postal_code else line

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


def _address_view(address: Address) -> AddressView:
    return AddressView(
        id=address.pk,
        user_id=address.user_id,
        recipient=address.recipient,
        phone=address.phone,
        province=address.province,
        city=address.city,
        district=address.district,
        detail=address.detail,
        postal_code=address.postal_code,
        is_default=address.is_default,
        created_at=address.created_at,
    )


def address_list(*, user_id: int) -> list[AddressView]:
    """The member's addresses: the default first, then the most recently added."""
    addresses = Address.objects.filter(user_id=user_id).order_by("-is_default", "-created_at", "-pk")
    return [_address_view(a) for a in addresses]


def address_get(*, user_id: int, address_id: int) -> AddressView:
    """One of the member's addresses (e.g. to copy into an order). Raises AddressNotFoundError for anyone else's."""
    address = Address.objects.filter(user_id=user_id, pk=address_id).first()
    if address is None:
        raise AddressNotFoundError()
    return _address_view(address)


def address_count(*, user_id: int) -> int:
    return Address.objects.filter(user_id=user_id).count()


@dataclass(frozen=True)
class PinStatus:
    is_set: bool
    failed_attempts: int = 0
    locked_until: datetime | None = None

    @property
    def attempts_left(self) -> int:
        return max(0, rules.PIN_MAX_FAILURES - self.failed_attempts)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def minutes_locked(self, now: datetime) -> int:
        """Whole minutes until PIN use unlocks (0 when it is not locked), as PinLockedError says them."""
        if not self.is_locked(now):
            return 0
        return rules.lock_minutes_left(self.locked_until - now)


@dataclass(frozen=True)
class MemberFacts:
    """Things about a member that may already be true before anyone asks (a task that asks for
    them is done at once). ``profile_complete``: a display name, an avatar and a verified phone,
    everything the profile page asks for (``profile_is_complete``)."""

    profile_complete: bool
    pin_set: bool
    has_address: bool


def profile_is_complete(
    *, display_name: str, avatar: str, phone: str | None, phone_verified_at: datetime | None
) -> bool:
    """A display name, an avatar and a verified phone: the profile page's three asks."""
    return bool((display_name or "").strip()) and bool(avatar) and bool(phone) and phone_verified_at is not None


def member_facts(*, user_id: int) -> MemberFacts:
    """Three small queries."""
    User = get_user_model()
    row = User.objects.filter(pk=user_id).values("display_name", "avatar", "phone", "phone_verified_at").first()
    return MemberFacts(
        profile_complete=row is not None and profile_is_complete(**row),
        pin_set=pin_is_set(user_id=user_id),
        has_address=Address.objects.filter(user_id=user_id).exists(),
    )


def pin_is_set(*, user_id: int) -> bool:
    return PaymentPin.objects.filter(user_id=user_id).exists()


def pin_status(*, user_id: int) -> PinStatus:
    """Whether a PIN is set and, if so, how many wrong attempts it has seen and until when it is locked."""
    row = PaymentPin.objects.filter(user_id=user_id).values("failed_attempts", "locked_until").first()
    if row is None:
        return PinStatus(is_set=False)
    if row["locked_until"] is not None and row["locked_until"] <= timezone.now():
        # An expired lock is history: the next attempt starts a fresh count (see pin_verify).
        return PinStatus(is_set=True)
    return PinStatus(is_set=True, failed_attempts=row["failed_attempts"], locked_until=row["locked_until"])


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


def _notification_view(notification: Notification) -> NotificationView:
    text = notification.text()
    return NotificationView(
        id=notification.pk,
        kind=notification.kind,
        kind_label=notification.get_kind_display(),
        title=text.title,
        body=text.body,
        link=notification.link,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


def notification_list(*, user_id: int, page: int | str = 1, per_page: int = INBOX_PAGE_SIZE) -> Page:
    """A page of the member's inbox, newest first, as NotificationView objects whose title and
    body are rendered in the active language (the reader's), whatever language was active when
    they were sent."""
    paginator = Paginator(
        Notification.objects.filter(user_id=user_id, in_inbox=True).order_by("-created_at", "-pk"), per_page
    )
    result = paginator.get_page(page)
    result.object_list = [_notification_view(n) for n in result.object_list]
    return result


def notification_unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True, in_inbox=True).count()


def notification_channels(*, user_ids: Iterable[int], kind: str) -> dict[int, frozenset[str]]:
    """``{user_id: channels}``: where each member receives messages of ``kind`` (their
    preferences over the defaults). One query."""
    ids = list(user_ids)
    chosen: dict[int, set[str]] = {user_id: set(DEFAULT_CHANNELS[kind]) for user_id in ids}
    rows = NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list(
        "user_id", "channel", "enabled"
    )
    for user_id, channel, enabled in rows:
        (chosen[user_id].add if enabled or (kind, channel) in ALWAYS_ON else chosen[user_id].discard)(channel)
    return {user_id: frozenset(channels) for user_id, channels in chosen.items()}


@dataclass(frozen=True)
class PreferenceCell:
    channel: str
    label: str  # the channel's name in the active language
    enabled: bool
    # False: the member cannot receive this channel now (no verified e-mail or phone).
    available: bool
    # True: always on (accounts.enums.ALWAYS_ON), shown ticked and not changeable.
    forced: bool = False


@dataclass(frozen=True)
class PreferenceRow:
    kind: str
    label: str
    cells: tuple[PreferenceCell, ...]


@dataclass(frozen=True)
class NotificationPreferences:
    rows: tuple[PreferenceRow, ...]
    channels: tuple[tuple[str, str], ...]  # (value, label) in column order
    email_verified: bool
    phone_verified: bool


def member_contact(*, user_id: int) -> tuple[str | None, str | None]:
    """The member's verified e-mail address and verified phone (None when not verified, or
    when the account is deactivated): where e-mail and SMS may go."""
    row = get_user_model().objects.filter(pk=user_id).values("email", "phone", "phone_verified_at", "is_active").first()
    if row is None or not row["is_active"]:
        return None, None
    email_ok = EmailAddress.objects.filter(user_id=user_id, email__iexact=row["email"], verified=True).exists()
    phone = row["phone"] if row["phone_verified_at"] is not None else None
    return (row["email"] if email_ok else None), phone


def reachable_channels(*, user_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """``{user_id: channels}``: where each member can receive messages now, as
    :func:`member_contact` decides (the inbox always; e-mail with a verified address, SMS with
    a verified phone, neither for a deactivated account). Unknown ids get the inbox only. Two
    queries."""
    ids = list(user_ids)
    reachable = {user_id: {NotificationChannel.INBOX} for user_id in ids}
    users = get_user_model().objects.filter(pk__in=ids, is_active=True)
    emails = dict(users.values_list("pk", "email"))
    verified = {
        (user_id, address.lower())
        for user_id, address in EmailAddress.objects.filter(user_id__in=list(emails), verified=True).values_list(
            "user_id", "email"
        )
    }
    for user_id, email in emails.items():
        if email and (user_id, email.lower()) in verified:
            reachable[user_id].add(NotificationChannel.EMAIL)
    for user_id in users.filter(phone_verified_at__isnull=False, phone__gt="").values_list("pk", flat=True):
        reachable[user_id].add(NotificationChannel.SMS)
    return {user_id: frozenset(channels) for user_id, channels in reachable.items()}


def notification_preferences(*, user_id: int) -> NotificationPreferences:
    """The member's preferences matrix (kinds × channels) with the defaults filled in."""
    reachable = reachable_channels(user_ids=[user_id])[user_id]
    available = {channel: channel in reachable for channel in NotificationChannel.values}
    stored = {
        (kind, channel): enabled
        for kind, channel, enabled in NotificationPreference.objects.filter(user_id=user_id).values_list(
            "kind", "channel", "enabled"
        )
    }
    rows = tuple(
        PreferenceRow(
            kind=kind,
            label=str(label),
            cells=tuple(
                PreferenceCell(
                    channel=channel,
                    label=str(channel_label),
                    # A channel the member cannot receive shows unticked, whatever is stored or
                    # the default: a ticked, greyed box reads "you get these" (only a forced
                    # cell is both).
                    enabled=(kind, channel) in ALWAYS_ON
                    or (available[channel] and stored.get((kind, channel), channel in DEFAULT_CHANNELS[kind])),
                    available=available[channel],
                    forced=(kind, channel) in ALWAYS_ON,
                )
                for channel, channel_label in NotificationChannel.choices
            ),
        )
        for kind, label in NotificationKind.choices
    )
    return NotificationPreferences(
        rows=rows,
        channels=tuple((value, str(label)) for value, label in NotificationChannel.choices),
        email_verified=NotificationChannel.EMAIL in reachable,
        phone_verified=NotificationChannel.SMS in reachable,
    )


def member_language(*, user_id: int) -> str:
    """The language to write to a member in: their own choice, else the mall's default."""
    language = get_user_model().objects.filter(pk=user_id).values_list("language", flat=True).first()
    return language or settings.LANGUAGE_CODE


def display_names(*, user_ids: Iterable[int]) -> dict[int, str]:
    """``{user_id: name}`` for public lists: the profile's display name, else the e-mail's local
    part (never its domain, never a phone number). Unmasked: the caller masks it
    (``pointsmall.kernel.masking.mask_name``). Unknown ids are left out. One query."""
    rows = get_user_model().objects.filter(pk__in=list(user_ids)).values_list("pk", "display_name", "email")
    return {pk: (name or "").strip() or (email or "").partition("@")[0] for pk, name, email in rows}


# --- Identity: what makes two accounts one person -----------------------------------------


def email_identity_rules() -> rules.EmailIdentityRules:
    """The operators' rules for telling addresses apart (IdentityPolicy and its provider rows);
    the defaults when the row is missing."""
    policy = IdentityPolicy.load()
    if policy.pk is None:
        return rules.EmailIdentityRules()
    providers = list(EmailProviderRule.objects.filter(policy=policy).values_list("domain", "ignore_dots", "same_as"))
    return rules.EmailIdentityRules(
        ignore_plus_tags=policy.ignore_plus_tags,
        dotless_domains=frozenset(domain for domain, ignore_dots, _same in providers if ignore_dots),
        domain_aliases={domain: same_as for domain, _dots, same_as in providers if same_as},
    )


def email_identity(*, email: str, identity_rules: rules.EmailIdentityRules | None = None) -> str:
    """``email:<mailbox>``: the normalised identity of an address (see rules.normalize_email_identity)."""
    return f"email:{rules.normalize_email_identity(email, identity_rules or email_identity_rules())}"


def verified_phone(*, user_id: int) -> str | None:
    """The member's phone number if they verified it by SMS code, else None."""
    return (
        get_user_model()
        .objects.filter(pk=user_id, phone_verified_at__isnull=False)
        .values_list("phone", flat=True)
        .first()
    )


def reward_identities(*, user_id: int, email: str) -> list[str]:
    """What the sign-up bonus is claimed by: the confirmed ``email`` as typed (what claims made
    before normalisation hold) and as its mailbox, and the verified phone; unverified phones
    count for nothing (anyone can type any number)."""
    identities = [f"email:{email.strip().lower()}", email_identity(email=email)]
    if phone := verified_phone(user_id=user_id):
        identities.append(f"phone:{phone}")
    return list(dict.fromkeys(identities))


def person_identities(*, user_id: int, identity_rules: rules.EmailIdentityRules | None = None) -> frozenset[str]:
    """Every identity an account holds: each of its e-mail addresses as a mailbox (confirmed or
    not: the member typed them all) and its verified phone. Two accounts sharing one are one person."""
    identity_rules = identity_rules or email_identity_rules()
    addresses = set(EmailAddress.objects.filter(user_id=user_id).values_list("email", flat=True))
    addresses.update(get_user_model().objects.filter(pk=user_id).values_list("email", flat=True))
    identities = {email_identity(email=address, identity_rules=identity_rules) for address in addresses if address}
    if phone := verified_phone(user_id=user_id):
        identities.add(f"phone:{phone}")
    return frozenset(identities)


@dataclass(frozen=True)
class PhoneStatus:
    phone: str
    verified: bool
    # A code was sent for this number and can still be entered.
    code_pending: bool

    @property
    def masked(self) -> str:
        return mask_phone(self.phone)


def phone_status(*, user_id: int) -> PhoneStatus | None:
    """The member's profile phone and whether it is verified, or None without a phone."""
    row = get_user_model().objects.filter(pk=user_id).values("phone", "phone_verified_at").first()
    if row is None or not row["phone"]:
        return None
    now = timezone.now()
    pending = PhoneVerification.objects.filter(
        user_id=user_id,
        phone=row["phone"],
        used_at__isnull=True,
        expires_at__gt=now,
        failed_attempts__lt=rules.PHONE_CODE_MAX_FAILURES,
    ).exists()
    return PhoneStatus(phone=row["phone"], verified=row["phone_verified_at"] is not None, code_pending=pending)


# --- Invite codes and referrals -----------------------------------------------------------


def referral_monthly_cap() -> int:
    """Rewarded invites per inviter per business month; more friends are still bound, unpaid."""
    return int(getattr(settings, "REFERRAL_MONTHLY_CAP", DEFAULT_REFERRAL_MONTHLY_CAP))


def referral_ip_hourly_limit() -> int:
    """Sign-ups through invites from one IP address within an hour at which they are held for review."""
    return int(getattr(settings, "REFERRAL_IP_HOURLY_LIMIT", DEFAULT_REFERRAL_IP_HOURLY_LIMIT))


def referral_burst_limit() -> tuple[int, int]:
    """(count, minutes): sign-ups through one inviter's link within ``minutes`` at which they are held
    and the inviter flagged (``REFERRAL_BURST_COUNT``, ``REFERRAL_BURST_MINUTES``; count 0: off)."""
    return int(getattr(settings, "REFERRAL_BURST_COUNT", 10)), int(getattr(settings, "REFERRAL_BURST_MINUTES", 60))


def redeem_cancel_loop_limit() -> tuple[int, int]:
    """(count, days): redemptions given back within ``days`` at which the member is flagged
    (``REDEEM_CANCEL_LOOP_COUNT``, ``REDEEM_CANCEL_LOOP_DAYS``; count 0: off)."""
    return int(getattr(settings, "REDEEM_CANCEL_LOOP_COUNT", 5)), int(getattr(settings, "REDEEM_CANCEL_LOOP_DAYS", 7))


def user_deleted(*, user_id: int) -> bool:
    """Whether the member deleted their account (``deleted_at`` set by the erasure; the row stays)."""
    return get_user_model().objects.filter(pk=user_id, deleted_at__isnull=False).exists()


def member_has_device(*, user_id: int, device_hash: str) -> bool:
    """Whether the member signed up or signed in on the device with this hash (accounts.devices)."""
    return bool(device_hash) and MemberDevice.objects.filter(user_id=user_id, device_hash=device_hash).exists()


def _rewarded_this_month(now: datetime) -> Q:
    """Referrals that paid a sign-up reward in ``now``'s business month: what the monthly cap counts."""
    return Q(rewarded_at__gte=clock.period_start(now, "month"), signup_points__gt=0)


def rewarded_invites_this_month(*, inviter_id: int, now: datetime) -> int:
    """How many of ``inviter_id``'s invites were rewarded in ``now``'s business month (against the monthly cap)."""
    return Referral.objects.filter(_rewarded_this_month(now), inviter_id=inviter_id).count()


@dataclass(frozen=True)
class Inviter:
    user_id: int
    name: str


def invite_code_owner(*, code: str) -> Inviter | None:
    """The active member a typed or linked invite code belongs to, or None."""
    normalized = rules.normalize_invite_code(code)
    if not rules.is_invite_code(normalized):
        return None
    invite = (
        InviteCode.objects.filter(code=normalized, user__is_active=True)
        .select_related("user")
        .only("user", "user__display_name", "user__email")
        .first()
    )
    if invite is None:
        return None
    return Inviter(user_id=invite.user_id, name=invite.user.public_name)


def invite_code_of(*, user_id: int) -> str | None:
    return InviteCode.objects.filter(user_id=user_id).values_list("code", flat=True).first()


@dataclass(frozen=True)
class InvitedFriend:
    id: int
    email_masked: str
    joined_at: datetime
    status: str
    status_label: str
    no_reward_label: str
    signup_points: int
    signup_pending: bool
    first_order_points: int
    first_order_available_at: datetime | None
    first_order_pending: bool
    first_order_cancelled: bool


@dataclass(frozen=True)
class InviteSummary:
    invited: int
    earned: int
    pending: int
    under_review: int
    rewarded_this_month: int
    monthly_cap: int
    friends: Page


def _signup_reward(now: datetime, *, pending: bool) -> Q:
    return Q(signup_available_at__gt=now) if pending else Q(signup_available_at__lte=now)


def _first_order_reward(now: datetime, *, pending: bool) -> Q:
    timing = Q(first_order_available_at__gt=now) if pending else Q(first_order_available_at__lte=now)
    return Q(first_order_withdrawn_at__isnull=True, first_order_points__gt=0) & timing


def invite_summary(*, user_id: int, page: int | str = 1, per_page: int = INVITED_PAGE_SIZE) -> InviteSummary:
    """What the invite page shows: the friends a member invited (newest first, e-mails masked)
    and the rewards: earned (available now), pending (a sign-up reward in its first hour, a
    first-order reward in the returns window), and this month's rewarded invites against the cap.
    """
    now = timezone.now()
    referrals = Referral.objects.filter(inviter_id=user_id)
    totals = referrals.aggregate(
        invited=Count("pk"),
        signup=Sum("signup_points", filter=_signup_reward(now, pending=False), default=0),
        signup_pending=Sum("signup_points", filter=_signup_reward(now, pending=True), default=0),
        first_order=Sum("first_order_points", filter=_first_order_reward(now, pending=False), default=0),
        first_order_pending=Sum("first_order_points", filter=_first_order_reward(now, pending=True), default=0),
        under_review=Count("pk", filter=Q(status=ReferralStatus.HELD)),
        this_month=Count("pk", filter=_rewarded_this_month(now)),
    )
    paginator = Paginator(
        referrals.select_related("invitee").order_by("-created_at", "-pk"), per_page, allow_empty_first_page=True
    )
    friends = paginator.get_page(page)
    friends.object_list = [
        InvitedFriend(
            id=r.pk,
            email_masked=mask_email(r.invitee.email),
            joined_at=r.created_at,
            status=r.status,
            status_label=ReferralStatus(r.status).label,
            no_reward_label=NoRewardReason(r.no_reward_reason).label if r.no_reward_reason else "",
            signup_points=r.signup_points,
            signup_pending=bool(r.signup_points and r.signup_available_at and r.signup_available_at > now),
            first_order_points=r.first_order_points,
            first_order_available_at=r.first_order_available_at,
            first_order_pending=bool(
                r.first_order_points
                and r.first_order_withdrawn_at is None
                and r.first_order_available_at
                and r.first_order_available_at > now
            ),
            first_order_cancelled=r.first_order_withdrawn_at is not None,
        )
        for r in friends.object_list
    ]
    return InviteSummary(
        invited=totals["invited"],
        earned=totals["signup"] + totals["first_order"],
        pending=totals["signup_pending"] + totals["first_order_pending"],
        under_review=totals["under_review"],
        rewarded_this_month=totals["this_month"],
        monthly_cap=referral_monthly_cap(),
        friends=friends,
    )


# --- The operators' dashboard (docs/decisions/0031) ------------------------------------------


def signups_by_day(*, first: date, last: date) -> dict[date, int]:
    """Members who joined per business day (``date_joined``), staff excluded (one query)."""
    from django.db.models.functions import TruncDate

    return dict(
        get_user_model()
        .objects.filter(
            is_staff=False,
            date_joined__gte=clock.business_day_start(first),
            date_joined__lt=clock.business_day_start(last + timedelta(days=1)),
        )
        .annotate(day=TruncDate("date_joined", tzinfo=clock.business_zone()))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )


@dataclass(frozen=True)
class RiskMember:
    """A member on the dashboard's risk list and why (``reason``: a short code)."""

    user_id: int
    email_masked: str
    reason: str
    detail: str
    since: datetime | None


def risk_members(*, now: datetime | None = None, limit: int = 50) -> list[RiskMember]:
    """Held referrals (waiting for an operator) and members whose payment PIN is locked now
    (too many wrong PINs): two queries, newest first."""
    now = now or timezone.now()
    held = Referral.objects.filter(status=ReferralStatus.HELD).select_related("invitee").order_by("-created_at")[:limit]
    locked = PaymentPin.objects.filter(locked_until__gt=now).select_related("user").order_by("-locked_until")[:limit]
    rows = [
        RiskMember(
            user_id=r.invitee_id,
            email_masked=mask_email(r.invitee.email),
            reason="referral_held",
            detail=r.get_held_reason_display(),
            since=r.created_at,
        )
        for r in held
    ]
    rows += [
        RiskMember(
            user_id=p.user_id,
            email_masked=mask_email(p.user.email),
            reason="pin_locked",
            detail=str(p.failed_attempts),
            since=p.locked_until,
        )
        for p in locked
    ]
    return rows


def member_emails(*, ids: Iterable[int]) -> dict[int, str]:
    """Masked e-mail addresses of the members ``ids`` (one query)."""
    return {
        pk: mask_email(email)
        for pk, email in get_user_model().objects.filter(pk__in=list(ids)).values_list("pk", "email")
    }


# --- Members a host system manages (accounts.services.host_members) -----------------------


def privileged_q() -> Q:
    """The one rule for "has a back-office role" (decision 0035): staff, superuser, in any group
    (the "Shop staff" coupon desk is not ``is_staff``) or holding any permission of its own.
    Such an account is never reached through a host integration: a host could otherwise link
    and sign in as someone who verifies coupons or edits the catalogue. A filter on users."""
    return Q(is_staff=True) | Q(is_superuser=True) | Q(groups__isnull=False) | Q(user_permissions__isnull=False)


@dataclass(frozen=True)
class EmailHolder:
    """The account that holds an e-mail address (as its login or as one of its addresses)."""

    user_id: int
    verified: bool  # the account has a verified allauth address for it (by the mall, or a host's word)
    privileged: bool  # any back-office role (privileged_q): never reachable through a host integration


def email_holder(*, email: str) -> EmailHolder | None:
    """Who holds ``email`` (case-insensitive): the account whose login it is, else the account
    with it among its e-mail addresses; None when nobody does. Five queries at most.

    ``verified`` says the address row is verified, which on a member a host manages may be
    that host's word (host_member_create/update): the integration links by e-mail only
    accounts no host links, whose verified addresses the mall checked itself (decision 0035)."""
    users = get_user_model().objects
    user_id = users.filter(email__iexact=email).values_list("pk", flat=True).first()
    if user_id is None:
        user_id = EmailAddress.objects.filter(email__iexact=email).values_list("user_id", flat=True).first()
    if user_id is None:
        return None
    verified = EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=True).exists()
    return EmailHolder(user_id=user_id, verified=verified, privileged=is_privileged(user_id=user_id))


def is_privileged(*, user_id: int) -> bool:
    """True for an account with any back-office role (privileged_q), and for an unknown id:
    refuse what is not known. One query."""
    users = get_user_model().objects.filter(pk=user_id)
    return not users.exists() or users.filter(privileged_q()).exists()


@dataclass(frozen=True)
class HostMemberView:
    """What a host system may read back of a member it manages."""

    email: str | None  # None while the member has only the stand-in address
    email_verified: bool
    phone: str | None
    phone_verified: bool
    display_name: str
    language: str


def host_member_view(*, user_id: int) -> HostMemberView:
    row = (
        get_user_model()
        .objects.filter(pk=user_id)
        .values("email", "phone", "phone_verified_at", "display_name", "language")
        .get()
    )
    real = not rules.is_placeholder_email(row["email"])
    verified = real and EmailAddress.objects.filter(user_id=user_id, email__iexact=row["email"], verified=True).exists()
    return HostMemberView(
        email=row["email"] if real else None,
        email_verified=verified,
        phone=row["phone"] or None,
        phone_verified=row["phone_verified_at"] is not None,
        display_name=row["display_name"],
        language=row["language"],
    )


def is_active(*, user_id: int) -> bool:
    """True for an account that may sign in (not deactivated)."""
    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()


def viewer_status(request) -> points_selectors.MemberStatus | None:
    """The signed-in member's spendable balance and enjoyed tier for this request
    (``points.selectors.member_status``, one query), read once and kept on the request: the
    header, the prices and the announcements of one page all ask. None for a visitor or a
    member without a points account. The ledger's own pages (which may not import accounts)
    read the same kept answer through ``points.selectors.request_member_status``."""
    return points_selectors.request_member_status(request)
