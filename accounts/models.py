"""Members: the user, shipping addresses, payment PIN and the notifications inbox."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.enums import NotificationKind


class UserManager(BaseUserManager["User"]):
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
    # NULL rather than "" so that the unique constraint only applies to phones that are set.
    phone = models.CharField(_("phone"), max_length=20, unique=True, null=True, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/%Y/%m/", blank=True)
    avatar_thumbnail = models.ImageField(_("avatar thumbnail"), upload_to="avatars/%Y/%m/", blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def public_name(self) -> str:
        """What other members may see: the display name or a masked e-mail."""
        if self.display_name:
            return self.display_name
        local, _sep, domain = self.email.partition("@")
        return f"{local[:2]}***@{domain}"


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


class Notification(models.Model):
    """A message in a member's inbox (站内信)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("member")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"), max_length=2000, blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
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
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="accounts_notif_user_unread"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
