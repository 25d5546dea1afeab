"""Changes of power: a user's staff and superuser flags, groups and permissions, a group's
permissions. Written only by ``pointsmall.audit.receivers``; never changed or deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PrivilegeField(models.TextChoices):
    IS_STAFF = "is_staff", _("staff status")
    IS_SUPERUSER = "is_superuser", _("superuser status")
    GROUPS = "groups", _("groups")
    USER_PERMISSIONS = "user_permissions", _("user permissions")
    GROUP_PERMISSIONS = "group_permissions", _("group permissions")


class PrivilegeChange(models.Model):
    """One change of one privilege field: whose, what, when, old → new, and who made it.

    ``old``/``new`` are a boolean (the flags) or a sorted list of group names or
    ``app_label.codename`` permissions. The foreign keys keep no database constraint, so a
    deleted user or group leaves its record (and its id) behind; ``subject`` keeps the name.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    group = models.ForeignKey(
        "auth.Group",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("group"),
    )
    subject = models.CharField(_("whose"), max_length=254)
    field = models.CharField(_("what"), max_length=20, choices=PrivilegeField)
    old = models.JSONField(_("before"), null=True)
    new = models.JSONField(_("after"), null=True)
    # Empty: no signed-in request (a shell, a migration, a management command).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("privilege change")
        verbose_name_plural = _("privilege changes")
        ordering = ["-created_at", "-pk"]
        permissions = [("view_audit", _("Can view the audit pages"))]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="audit_privilege_user_recent"),
            models.Index(fields=["group", "-created_at"], name="audit_privilege_group_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.subject}: {self.field} {self.old} → {self.new}"


class PiiReveal(models.Model):
    """A staff member was shown a member's full contact data (decision 0057): who, whose, which
    record and fields, why, when. Written only by ``pointsmall.audit.receivers`` (the kernel's
    ``pii_revealed``); never changed or deleted."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("whose"),
    )
    target = models.CharField(_("record"), max_length=100)  # "app_label.model_name"
    object_id = models.CharField(_("record id"), max_length=64)
    fields = models.JSONField(_("fields"), default=list)
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("contact data reveal")
        verbose_name_plural = _("contact data reveals")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="audit_reveal_user_recent")]

    def __str__(self) -> str:
        return f"{self.target}:{self.object_id} {', '.join(self.fields)}"
