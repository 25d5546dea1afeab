"""Members: the user, shipping addresses, payment PIN, the notifications inbox, invite codes and referrals."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.enums import (
    DeliveryReason,
    DeliveryStatus,
    HoldReason,
    NoRewardReason,
    NotificationChannel,
    NotificationKind,
    ReferralStatus,
    RiskReason,
)
from points import notices
from pointsmall.kernel.masking import mask_email
from pointsmall.kernel.singleton import SingletonModel

# The flags that give power; their changes are audited (pointsmall/audit, decision 0057).
PRIVILEGE_FLAGS = ("is_staff", "is_superuser")


class UserQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """Django's update; one that sets ``is_staff`` or ``is_superuser`` (also through
        ``bulk_update``) announces every flag it really changed (``privilege_flags_updated``),
        since an update sends no post_save. It locks the matched rows, reads the flags before
        and after (the new value may be an expression: F(), Case()) and compares them."""
        flags = [flag for flag in PRIVILEGE_FLAGS if flag in kwargs]
        if not flags:
            return super().update(**kwargs)
        from accounts.signals import privilege_flags_updated

        plain = self.model._base_manager.using(self.db)  # a plain QuerySet: no recursion
        with transaction.atomic(using=self.db):
            pks = list(self.values_list("pk", flat=True))
            locked = plain.select_for_update().filter(pk__in=pks).order_by("pk")
            before = {row["pk"]: row for row in locked.values("pk", "email", *flags)}
            count = plain.filter(pk__in=before).update(**kwargs)
            changes = [
                {"user_id": row["pk"], "subject": before[row["pk"]]["email"], "field": flag}
                | {"old": before[row["pk"]][flag], "new": row[flag]}
                for row in plain.filter(pk__in=before).order_by("pk").values("pk", *flags)
                for flag in flags
                if before[row["pk"]][flag] != row[flag]
            ]
            if changes:
                privilege_flags_updated.send(sender=self.model, changes=changes)
        return count

    def bulk_create(self, objs, *args, **kwargs):  # type: ignore[override]
        """Django's bulk_create; it sends no post_save, so a member created as staff or superuser
        is announced here (``privilege_flags_updated``, each flag False → True), as a save would be
        (rows left without a pk, ``ignore_conflicts``, are not: nothing says they were written)."""
        from accounts.signals import privilege_flags_updated

        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            changes = [
                {"user_id": user.pk, "subject": str(user.email), "field": flag, "old": False, "new": True}  # type: ignore[attr-defined]
                for user in created
                if user.pk is not None
                for flag in PRIVILEGE_FLAGS
                if getattr(user, flag)
            ]
            if changes:
                privilege_flags_updated.send(sender=self.model, changes=changes)
        return created


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A member or a staff user. Members sign in by e-mail; a username is optional."""

    username = models.CharField(_("username"), max_length=150, unique=True, null=True, blank=True)
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=40, blank=True)
    # Typed in the profile, it proves nothing: many members may type the same number. It becomes
    # the member's (unique, counted as their identity) only once verified by an SMS code.
    phone = models.CharField(_("phone"), max_length=20, null=True, blank=True)
    phone_verified_at = models.DateTimeField(_("phone verified"), null=True, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/%Y/%m/", blank=True)
    avatar_thumbnail = models.ImageField(_("avatar thumbnail"), upload_to="avatars/%Y/%m/", blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    # Set when the member deleted their account: the row stays (orders and the ledger point at it)
    # with its personal data erased (docs/decisions/0052).
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Phones, e-mails and addresses are masked for staff; this reveals one record, audited
        # (pointsmall/kernel/pii.py, decision 0057).
        permissions = [("unmask_pii", _("Can reveal a member's full phone, e-mail and address"))]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            # One verified holder per number; unverified numbers are not unique (nobody can squat one).
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(phone_verified_at__isnull=False),
                name="accounts_user_verified_phone_unique",
            ),
            models.CheckConstraint(
                condition=Q(phone_verified_at__isnull=True) | Q(phone__isnull=False),
                name="accounts_user_verified_phone_is_set",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def own_email(self) -> str:
        """The member's e-mail address, or "" while they have only the stand-in one a host
        integration gives a member created without an address (decision 0035): never shown as theirs."""
        from accounts.rules import is_placeholder_email

        return "" if is_placeholder_email(self.email) else self.email

    @property
    def phone_verified(self) -> bool:
        return self.phone_verified_at is not None

    @property
    def public_name(self) -> str:
        """What other members may see: the display name, else the e-mail masked by the kernel's rule
        (else "Member", for a member a host brought in without either)."""
        return self.display_name or mask_email(self.own_email) or str(_("Member"))


class Address(models.Model):
    """A shipping address of a member. Orders copy it when placed, so editing one never rewrites history."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("member")
    )
    recipient = models.CharField(_("recipient"), max_length=40)
    phone = models.CharField(_("phone"), max_length=20)
    province = models.CharField(_("province"), max_length=40)
    city = models.CharField(_("city"), max_length=40)
    district = models.CharField(_("district"), max_length=40, blank=True)
    # The division code of the district (or of a city with none), from accounts.regions; empty
    # when the names are not one chain of that data (an address saved before the picker).
    region_code = models.CharField(_("region code"), max_length=6, blank=True)
    detail = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=6, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            # The services keep exactly one default per member; this keeps a race from making two.
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="accounts_address_one_default_per_user"
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_address_user_recent")]

    def __str__(self) -> str:
        region = " ".join(part for part in (self.province, self.city, self.district) if part)
        return f"{self.recipient} · {region} {self.detail}"


class PaymentPin(models.Model):
    """The 6-digit PIN a member confirms redemptions with. Only its hash is kept."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_pin", verbose_name=_("member")
    )
    pin_hash = models.CharField(_("PIN hash"), max_length=128)
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment PIN")
        verbose_name_plural = _("payment PINs")

    def __str__(self) -> str:
        return f"PIN #{self.pk} (user {self.user_id})"


class PhoneVerification(models.Model):
    """A code sent by SMS to prove the member holds a phone number. Only a keyed hash of the code is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="phone_verifications",
        verbose_name=_("member"),
    )
    phone = models.CharField(_("phone"), max_length=20)
    code_hash = models.CharField(_("code (hashed)"), max_length=64)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    failed_attempts = models.PositiveSmallIntegerField(_("wrong codes entered"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("phone verification")
        verbose_name_plural = _("phone verifications")
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_phonever_user_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class IdentityPolicy(SingletonModel):
    """How the mall tells that two e-mail addresses are one person, for rewards paid once per
    person (the sign-up bonus, invitation rewards). One row (pk=1), edited by operators."""

    ignore_plus_tags = models.BooleanField(
        _("ignore +tags"),
        default=True,
        help_text=_("alice+shop@example.com counts as alice@example.com."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("identity policy")
        verbose_name_plural = _("identity policy")

    def __str__(self) -> str:
        return str(_("Identity policy"))


class EmailProviderRule(models.Model):
    """What one e-mail provider does with addresses: ignores dots, or is another domain's mailboxes."""

    policy = models.ForeignKey(
        IdentityPolicy, on_delete=models.CASCADE, related_name="providers", verbose_name=_("identity policy")
    )
    domain = models.CharField(_("domain"), max_length=253, unique=True, help_text=_("For example gmail.com."))
    ignore_dots = models.BooleanField(
        _("dots don't count"), default=False, help_text=_("a.lice@gmail.com counts as alice@gmail.com.")
    )
    same_as = models.CharField(
        _("same mailboxes as"),
        max_length=253,
        blank=True,
        help_text=_("Another domain that reaches the same mailboxes, e.g. googlemail.com → gmail.com."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("e-mail provider rule")
        verbose_name_plural = _("e-mail provider rules")
        ordering = ["domain"]
        constraints = [
            models.CheckConstraint(condition=~Q(same_as=F("domain")), name="accounts_emailprovider_not_own_alias")
        ]

    def __str__(self) -> str:
        return self.domain


class Notification(models.Model):
    """A message in a member's inbox (站内信)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("member")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    # What the member reads, rendered in their language when read (accounts.notices and the other
    # apps' notices.py): a message code and its parameters. ``title``/``body`` are free text shown
    # as written, for what an operator writes (and messages stored before codes).
    message_code = models.CharField(_("message code"), max_length=60, blank=True)
    params = models.JSONField(_("message parameters"), default=dict, blank=True)
    title = models.CharField(_("title"), max_length=120, blank=True)
    body = models.TextField(_("body"), max_length=2000, blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # Transactional messages (an order shipped, a code delivered) are always in the inbox,
    # whatever the member's preferences say; the others follow the inbox preference of their kind.
    transactional = models.BooleanField(_("transactional"), default=False)
    # False: the member switched this kind off in the inbox; the row stays as the record of the
    # event (and the anchor of its e-mail and SMS deliveries), hidden from the inbox and its count.
    in_inbox = models.BooleanField(_("shown in the inbox"), default=True)
    # Set by senders that may run twice (a retried job): the second send finds the first.
    dedupe_key = models.CharField(_("deduplication key"), max_length=150, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("sent"), default=timezone.now, editable=False)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="accounts_notification_dedupe_key_unique"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_notif_user_recent"),
            # The header/nav unread badge counts on every page: keep it on a small partial index.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True, in_inbox=True), name="accounts_notif_user_unread"
            ),
        ]

    def __str__(self) -> str:
        return self.text().title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def text(self) -> notices.Text:
        """Title and body in the active language: the code rendered, else the stored free text."""
        if self.message_code:
            rendered = notices.render(self.message_code, self.params)
            if rendered is not None:
                return rendered
        return notices.Text(self.title or str(self.get_kind_display()), self.body)


class InviteCode(models.Model):
    """A member's invite code (邀请码). Made when the member is created and never changed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invite_code", verbose_name=_("member")
    )
    code = models.CharField(_("invite code"), max_length=16, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("invite code")
        verbose_name_plural = _("invite codes")

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    """One member invited another (邀请好友): bound at the friend's sign-up, once, never changed.

    The inviter's rewards are recorded here as they are decided, so a retried event pays
    nothing twice and the invite page reads what was paid without asking the ledger.
    """

    invitee = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referral", verbose_name=_("invited member")
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made", verbose_name=_("inviter")
    )
    created_at = models.DateTimeField(_("signed up"), default=timezone.now, editable=False)
    signup_ip = models.GenericIPAddressField(_("sign-up IP address"), null=True, blank=True)
    # What sign-up bursts count by: the IPv4 address or the IPv6 /64 (pointsmall.kernel.ratelimit.ip_network_key).
    signup_network = models.CharField(_("sign-up network"), max_length=45, blank=True, default="")
    # Keyed hash of the device cookie the friend signed up with (accounts.devices); never the raw id.
    signup_device = models.CharField(
        _("sign-up device (hashed)"), max_length=64, blank=True, default="", editable=False
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    held_reason = models.CharField(_("why held"), max_length=20, choices=HoldReason.choices, blank=True)
    # What the rule saw when it held the referral (other referrals, the network, a device hash's prefix).
    hold_evidence = models.JSONField(_("evidence of the hold"), default=dict, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    verified_at = models.DateTimeField(_("friend's e-mail confirmed"), null=True, blank=True)
    # Keyed hash of the friend's confirmed e-mail: an address invited before earns nothing again.
    invitee_identity = models.CharField(_("friend's e-mail (hashed)"), max_length=64, blank=True, editable=False)
    # When the sign-up reward was decided; one with points takes one of that month's rewarded invites (the cap).
    rewarded_at = models.DateTimeField(_("sign-up reward decided"), null=True, blank=True)
    no_reward_reason = models.CharField(
        _("why not rewarded"), max_length=20, choices=NoRewardReason.choices, blank=True
    )
    signup_points = models.PositiveIntegerField(_("sign-up reward, points"), default=0)
    signup_available_at = models.DateTimeField(_("sign-up reward available from"), null=True, blank=True)
    # The ledger entries of the rewards, to cancel them while they are pending (a hold, a refund).
    signup_entry_id = models.BigIntegerField(_("sign-up reward entry"), null=True, blank=True, editable=False)
    first_order_reference = models.CharField(_("friend's first order"), max_length=100, blank=True)
    first_order_available_at = models.DateTimeField(_("first-order reward available from"), null=True, blank=True)
    first_order_rewarded_at = models.DateTimeField(_("first-order reward decided"), null=True, blank=True)
    first_order_points = models.PositiveIntegerField(_("first-order reward, points"), default=0)
    first_order_entry_id = models.BigIntegerField(_("first-order reward entry"), null=True, blank=True, editable=False)
    first_order_withdrawn_at = models.DateTimeField(_("first-order reward cancelled"), null=True, blank=True)
    # How often a hold cancelled rewards that were still pending; rewards paid after that use fresh keys.
    reward_round = models.PositiveSmallIntegerField(_("rewards cancelled by a hold"), default=0, editable=False)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        permissions = [("review_referral", _("Can approve or deny held referrals"))]
        constraints = [
            models.CheckConstraint(condition=~Q(inviter=F("invitee")), name="accounts_referral_not_self"),
        ]
        indexes = [
            models.Index(fields=["inviter", "-created_at"], name="accounts_referral_inviter"),
            models.Index(fields=["inviter", "rewarded_at"], name="accounts_referral_rewarded"),
            models.Index(fields=["signup_ip", "created_at"], name="accounts_referral_ip_recent"),
            models.Index(fields=["signup_network", "created_at"], name="accounts_referral_net_recent"),
            models.Index(fields=["inviter", "signup_device"], name="accounts_referral_device"),
            models.Index(fields=["invitee_identity"], name="accounts_referral_identity"),
        ]

    def __str__(self) -> str:
        return f"{self.inviter} → {self.invitee}"


class MemberDevice(models.Model):
    """A device (browser) a member signed up or signed in on, by the keyed hash of its device cookie
    (accounts.devices, docs/decisions/0056): a friend who signs up on the inviter's device is seen.

    Written only by ``accounts.services.member_device_record``; one row per member and device.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices", verbose_name=_("member")
    )
    device_hash = models.CharField(_("device (hashed)"), max_length=64)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("member device")
        verbose_name_plural = _("member devices")
        constraints = [models.UniqueConstraint(fields=["user", "device_hash"], name="accounts_memberdevice_once")]
        indexes = [models.Index(fields=["device_hash"], name="accounts_memberdevice_hash")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.device_hash[:12]}"


class RiskFlag(models.Model):
    """A member flagged for an operator's review (a scripted check-in run, docs/decisions/0051; referral
    bursts, friends on one device, redeem-and-cancel loops, 0056).

    Written only by ``accounts.services.risk_flag_raise``: at most one open flag per member and
    reason (a burst that goes on adds nothing). ``evidence`` is what the rule saw, as data
    (e.g. ``{"ip": ..., "rate": "30/m", "group": "tasks.checkin.ip"}``). Resolving (setting
    ``resolved_at``/``resolved_by``) is the risk view's, another part of issue #16; a flag is
    never deleted.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="risk_flags", verbose_name=_("member")
    )
    reason = models.CharField(_("reason"), max_length=32, choices=RiskReason.choices)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    created_at = models.DateTimeField(_("flagged"), default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    class Meta:
        verbose_name = _("risk flag")
        verbose_name_plural = _("risk flags")
        # The risk view's action (docs/decisions/0055); on this model because freezing is decided here.
        permissions = [("freeze_account", _("Can freeze and unfreeze members' points accounts"))]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "reason"], condition=Q(resolved_at__isnull=True), name="accounts_riskflag_one_open"
            ),
        ]
        indexes = [models.Index(fields=["-created_at"], name="accounts_riskflag_recent")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_reason_display()}"


class NotificationPreference(models.Model):
    """A member's choice for one kind of message on one channel. No row: the default
    (``accounts.enums.DEFAULT_CHANNELS``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("member"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    enabled = models.BooleanField(_("enabled"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="accounts_notifpref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}/{self.channel}: {self.enabled}"


class Delivery(models.Model):
    """One message to send on one external channel (e-mail, SMS): the outbox row.

    Written in the transaction of its notification, so a committed message is never lost
    to a broker outage; the Celery task sends it and a beat sweep picks up what was not.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("notification")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Pending: when the next attempt is due. Sending: when the claim lapses (a worker that died
    # mid-send); the sweep sends it again then (at least once, see docs/decisions/0029).
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=20, choices=DeliveryReason.choices, blank=True)
    # The provider's or the template engine's own words (technical detail for operators).
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        permissions = [("resend_delivery", _("Can send failed deliveries again"))]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="accounts_delivery_one_per_channel"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="accounts_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.notification_id}: {self.get_status_display()}"


class MessageTemplate(models.Model):
    """An operator's wording of one message code in one language for e-mail and SMS.

    A blank field keeps the built-in text (the message as the inbox shows it).
    """

    message_code = models.CharField(_("message code"), max_length=60)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    email_subject = models.CharField(_("e-mail subject"), max_length=200, blank=True)
    email_body = models.TextField(_("e-mail text"), max_length=5000, blank=True)
    sms_text = models.CharField(_("SMS text"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["message_code", "language"]
        constraints = [
            models.UniqueConstraint(fields=["message_code", "language"], name="accounts_messagetemplate_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.message_code} ({self.language})"
