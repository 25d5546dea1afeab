"""Admin for members: users (e-mail login), addresses, inbox messages, invite codes and referrals.

Read-only where services own the writes; referrals are reviewed with approve/deny actions.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.html import format_html
from django.utils.text import Truncator, format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from accounts import message_templates, rules, selectors, services
from accounts.admin_freeze import FREEZE_PERMISSION, freeze_action
from accounts.enums import ReferralStatus
from accounts.exceptions import InvalidPhoneError, InvalidTextError
from accounts.models import (
    Address,
    Delivery,
    EmailProviderRule,
    IdentityPolicy,
    InviteCode,
    MessageTemplate,
    Notification,
    NotificationPreference,
    Referral,
    RiskFlag,
    User,
)
from accounts.services.delivery import message_context
from points import notices
from points import selectors as points_selectors
from pointsmall.kernel.admin import (
    ContactRevealMixin,
    MemberSearchMixin,
    ReadOnlyAdmin,
    SingletonAdminMixin,
    apply_to_selected,
)
from pointsmall.kernel.errors import validation_error
from pointsmall.kernel.masking import mask_address, mask_email, mask_name, mask_phone


def _admin_clean_phone(form: forms.ModelForm) -> str | None:
    value = form.cleaned_data.get("phone")
    if not value:
        return None
    normalized = rules.normalize_phone(value)
    if normalized is None:
        raise validation_error(InvalidPhoneError())
    return normalized


class MemberCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class MemberChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = (
            "email",
            "password",
            "display_name",
            "phone",
            "language",
            "avatar",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )

    def clean_phone(self) -> str | None:
        # Same canonical form as the profile page, so one phone typed two ways is one phone.
        return _admin_clean_phone(self)

    def clean_display_name(self) -> str:
        # What other members see: the same text rule as the member's own profile form.
        try:
            return rules.clean_member_text(self.cleaned_data.get("display_name") or "")
        except rules.UnsafeTextError:
            raise validation_error(InvalidTextError()) from None

    def save(self, commit: bool = True):
        # A number changed by hand is not verified: only its holder can verify it (by SMS code).
        if self.cleaned_data.get("phone") != self.initial.get("phone"):
            self.instance.phone_verified_at = None
        return super().save(commit=commit)


# What makes an account powerful. Only superusers see or change these, on any account.
PRIVILEGE_FIELDS = frozenset({"is_superuser", "is_staff", "groups", "user_permissions"})


@admin.register(User)
class UserAdmin(ContactRevealMixin, DjangoUserAdmin):
    """Members and staff. Superusers manage everything; other staff edit members' service fields.

    Staff and superuser accounts are read-only for everyone but superusers, and only
    superusers set passwords (the /password/ page) or grant staff status, groups and
    permissions: staff can never give themselves or anyone else more than they have.
    """

    form = MemberChangeForm
    add_form = MemberCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("Profile"),
            {"fields": ("display_name", "phone", "phone_verified_at", "language", "avatar", "avatar_thumbnail")},
        ),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Points account"), {"fields": ("points_frozen",)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    # What other staff change on a member: the service fields (name, language, blocked or not).
    # E-mail, phone and password are how a member signs in and proves who they are: the member
    # changes them, with verification; a superuser only when the member cannot.
    member_fieldsets = (
        (None, {"fields": ("masked_email",)}),
        (_("Profile"), {"fields": ("display_name", "masked_phone", "language", "avatar_thumbnail")}),
        (_("Status"), {"fields": ("is_active", "points_frozen")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    staff_fieldsets = (
        (None, {"fields": ("masked_email",), "description": _("Staff accounts can be changed only by a superuser.")}),
        (_("Profile"), {"fields": ("display_name", "masked_phone", "language", "avatar_thumbnail")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    readonly_fields = (
        "masked_email",
        "masked_phone",
        "avatar_thumbnail",
        "phone_verified_at",
        "points_frozen",
        "points_frozen_with_history",
        "last_login",
        "date_joined",
    )
    # Masked (decision 0057); the search still matches a full e-mail address or phone number. The phone
    # only in full ("="): a part of it ("1391") would be an oracle spelling out the masked digits.
    list_display = ("masked_email", "display_name", "masked_phone", "is_staff", "is_active", "date_joined")
    masked_fields = ("email", "phone")
    actions = ("freeze_members", "unfreeze_members")
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined", "groups")
    search_fields = ("email", "display_name", "=phone")
    ordering = ("-date_joined",)
    show_full_result_count = False

    def masked_repr(self, obj: User) -> str:
        return obj.display_name or mask_email(obj.email)

    @admin.display(description=_("e-mail address"), ordering="email")
    def masked_email(self, obj: User) -> str:
        return mask_email(obj.email)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone or "") or "—"

    @admin.display(description=_("points account"))
    def points_frozen(self, obj: User) -> str:
        """Frozen or not (docs/decisions/0055)."""
        since = points_selectors.account_frozen_since(user_id=obj.pk) if obj.pk else None
        if since is None:
            return str(_("Not frozen."))
        when = formats.date_format(timezone.localtime(since), "DATETIME_FORMAT")
        return str(_("Frozen since %(when)s: no earning, no spending.") % {"when": when})

    @admin.display(description=_("points account"))
    def points_frozen_with_history(self, obj: User) -> str:
        """``points_frozen`` and a link to the account's freeze history (for those who may read it)."""
        url = reverse("admin:points_accountfreeze_changelist") + f"?account__user__id__exact={obj.pk}"
        return format_html('{} <a href="{}">{}</a>', self.points_frozen(obj), url, _("Freeze history"))

    def has_freeze_permission(self, request) -> bool:
        return request.user.has_perm(FREEZE_PERMISSION)

    @admin.action(description=_("Freeze the selected members' points accounts"), permissions=["freeze"])
    def freeze_members(self, request, queryset):
        return freeze_action(self, request, queryset.values_list("pk", flat=True), freezing=True)

    @admin.action(description=_("Unfreeze the selected members' points accounts"), permissions=["freeze"])
    def unfreeze_members(self, request, queryset):
        return freeze_action(self, request, queryset.values_list("pk", flat=True), freezing=False)

    @staticmethod
    def _is_staff_account(obj: User | None) -> bool:
        # Any back-office role (accounts.selectors.privileged_q): the "Shop staff" coupon desk is
        # in a group without is_staff, and other staff must not edit, block or delete it either.
        if obj is None:
            return False
        if obj.is_staff or obj.is_superuser:
            return True
        return obj.pk is not None and User.objects.filter(selectors.privileged_q(), pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not request.user.is_superuser and self._is_staff_account(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and not request.user.is_superuser and self._is_staff_account(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets: Any
        if obj is None or request.user.is_superuser:
            fieldsets = super().get_fieldsets(request, obj)
        else:
            fieldsets = self.staff_fieldsets if self._is_staff_account(obj) else self.member_fieldsets
        if not request.user.has_perm("points.view_accountfreeze"):
            return fieldsets
        # Only a link this user may follow: the same field with the freeze history's link.
        return [
            (
                name,
                {
                    **opts,
                    "fields": tuple(
                        "points_frozen_with_history" if f == "points_frozen" else f for f in opts["fields"]
                    ),
                },
            )
            for name, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        if obj is None or request.user.is_superuser:
            return self.readonly_fields
        # "password" here also drops the form's declared (read-only) password field altogether.
        return (*self.readonly_fields, "email", "phone", "password")

    def get_list_display(self, request) -> tuple[str, ...]:
        if request.user.is_superuser:
            return self.list_display
        return tuple(name for name in self.list_display if name not in PRIVILEGE_FIELDS)

    def get_list_filter(self, request) -> tuple[str, ...]:
        if request.user.is_superuser:
            return self.list_filter
        return tuple(name for name in self.list_filter if name not in PRIVILEGE_FIELDS)

    def lookup_allowed(self, lookup: str, value: str, request=None) -> bool:
        # Django allows any local field in the URL (?is_superuser__exact=1) whatever the filters.
        if request is not None and not request.user.is_superuser and lookup.split("__")[0] in PRIVILEGE_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    def save_model(self, request, obj: User, form, change: bool) -> None:
        # The forms above never offer these fields to other staff; this is the last line if a
        # future form does, and it also refuses a member who became staff while the form was open.
        if not request.user.is_superuser:
            stored = User.objects.filter(pk=obj.pk).first() if change else None
            if PRIVILEGE_FIELDS & set(form.changed_data) or self._is_staff_account(stored):
                raise PermissionDenied
            if obj.is_staff or obj.is_superuser:
                raise PermissionDenied
        super().save_model(request, obj, form, change)

    def delete_queryset(self, request, queryset) -> None:
        if not request.user.is_superuser and queryset.filter(selectors.privileged_q()).exists():
            raise PermissionDenied
        super().delete_queryset(request, queryset)

    def user_change_password(self, request, id, form_url=""):
        # Setting someone's password is taking over their account: superusers only, for
        # members too (a member who forgot theirs resets it by e-mail).
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


@admin.register(Address)
class AddressAdmin(ContactRevealMixin, ReadOnlyAdmin):
    """Shipping addresses, masked (decision 0057): recipient, phone and street; the search still
    matches a full phone number or name. "Show full contact data" reveals one, audited."""

    list_display = (
        "member",
        "masked_recipient",
        "masked_phone",
        "province",
        "city",
        "district",
        "is_default",
        "created_at",
    )
    list_filter = ("is_default", "province")
    search_fields = ("user__email", "recipient", "=phone")  # the phone in full only (see UserAdmin)
    masked_fields = ("recipient", "phone", "detail")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    fields = (
        "member",
        "masked_recipient",
        "masked_phone",
        "province",
        "city",
        "district",
        "region_code",
        "masked_detail",
        "postal_code",
        "is_default",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("member", "masked_recipient", "masked_phone", "masked_detail")

    def masked_repr(self, obj: Address) -> str:
        region = " ".join(part for part in (obj.province, obj.city, obj.district) if part)
        return f"{mask_name(obj.recipient)} · {region} {mask_address(obj.detail)}"

    @admin.display(description=_("member"), ordering="user__email")
    def member(self, obj: Address) -> str:
        return mask_email(obj.user.email)

    @admin.display(description=_("recipient"))
    def masked_recipient(self, obj: Address) -> str:
        return mask_name(obj.recipient)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Address) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("address"))
    def masked_detail(self, obj: Address) -> str:
        return mask_address(obj.detail)


@admin.register(Notification)
class NotificationAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = ("user", "kind", "shown_title", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("user__email", "title", "message_code")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    fields = (
        "user",
        "kind",
        "shown_title",
        "shown_body",
        "message_code",
        "params",
        "title",
        "body",
        "link",
        "created_at",
        "read_at",
    )
    readonly_fields = ("shown_title", "shown_body")

    # What the member reads, rendered in the operator's language from the stored code.
    @admin.display(description=_("title"))
    def shown_title(self, notification: Notification) -> str:
        return notification.text().title

    @admin.display(description=_("body"))
    def shown_body(self, notification: Notification) -> str:
        return notification.text().body


@admin.register(InviteCode)
class InviteCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "user", "created_at")
    search_fields = ("code", "user__email")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    fields = ("user", "code", "created_at")


def _evidence_text(evidence: dict[str, Any] | None) -> str:
    """What a rule saw, as "key: value" pairs for a change list; the change page shows the whole JSON."""
    return Truncator("; ".join(f"{key}: {value}" for key, value in sorted((evidence or {}).items()))).chars(120)


@admin.register(RiskFlag)
class RiskFlagAdmin(MemberSearchMixin, ReadOnlyAdmin):
    """The risk view (docs/decisions/0051, 0055): flagged members with the reason and the evidence.
    Rows are never edited or deleted; those with ``accounts.freeze_account`` freeze or unfreeze the
    flagged members' points accounts (a reason asked on a page of its own) and resolve flags."""

    list_display = (
        "user",
        "reason",
        "shown_evidence",
        "held_referrals",
        "is_open",
        "points_frozen",
        "created_at",
        "resolved_by",
    )
    list_filter = ("reason", ("resolved_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("user__email",)
    list_select_related = ("user", "resolved_by")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    fields = (
        "user",
        "reason",
        "evidence",
        "held_referrals",
        "points_frozen",
        "created_at",
        "resolved_at",
        "resolved_by",
    )
    readonly_fields = ("points_frozen", "held_referrals")
    actions = ("freeze_members", "unfreeze_members", "resolve_flags")

    def get_queryset(self, request):
        # One join for the list's "frozen" column (a reverse one-to-one: at most one account).
        return (
            super()
            .get_queryset(request)
            .annotate(
                frozen_at=F("user__points_account__frozen_at"),
                # The member's invitations held for review (as inviter or as the friend), shown with a link.
                held_count=Subquery(
                    Referral.objects.filter(status=ReferralStatus.HELD)
                    .filter(Q(inviter_id=OuterRef("user_id")) | Q(invitee_id=OuterRef("user_id")))
                    .values("status")
                    .annotate(n=Count("pk"))
                    .values("n")[:1]
                ),
            )
        )

    @admin.display(description=_("held referral rewards"))
    def held_referrals(self, flag: RiskFlag) -> str:
        # Release (approve: pays) or reject (deny) them on the referrals page (docs/decisions/0056).
        count = getattr(flag, "held_count", None) or 0
        if not count:
            return "—"
        url = reverse("admin:accounts_referral_changelist") + f"?status__exact=held&q={flag.user.email}"
        return format_html('<a href="{}">{}</a>', url, ngettext("%(n)s held", "%(n)s held", count) % {"n": count})

    @admin.display(description=_("evidence"))
    def shown_evidence(self, flag: RiskFlag) -> str:
        return _evidence_text(flag.evidence)

    @admin.display(description=_("open"), boolean=True, ordering="resolved_at")
    def is_open(self, flag: RiskFlag) -> bool:
        return flag.resolved_at is None

    @admin.display(description=_("points account frozen"), boolean=True)
    def points_frozen(self, flag: RiskFlag) -> bool:
        return getattr(flag, "frozen_at", None) is not None

    def has_freeze_permission(self, request) -> bool:
        return request.user.has_perm(FREEZE_PERMISSION)

    @admin.action(description=_("Freeze the flagged members' points accounts"), permissions=["freeze"])
    def freeze_members(self, request, queryset):
        return freeze_action(self, request, queryset.values_list("user_id", flat=True), freezing=True)

    @admin.action(description=_("Unfreeze the flagged members' points accounts"), permissions=["freeze"])
    def unfreeze_members(self, request, queryset):
        return freeze_action(self, request, queryset.values_list("user_id", flat=True), freezing=False)

    @admin.action(description=_("Resolve the selected flags (reviewed)"), permissions=["freeze"])
    def resolve_flags(self, request, queryset) -> None:
        resolved = services.risk_flags_resolve(
            flag_ids=list(queryset.values_list("pk", flat=True)), actor_id=request.user.pk
        )
        self.message_user(
            request,
            ngettext("%(n)s flag resolved.", "%(n)s flags resolved.", resolved) % {"n": resolved},
            messages.SUCCESS,
        )


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    """Invitations, and the review of those held as suspicious: approve pays what they earned."""

    list_display = (
        "invitee",
        "inviter",
        "status",
        "held_reason",
        "shown_hold_evidence",
        "signup_ip",
        "created_at",
        "verified_at",
        "signup_points",
        "first_order_points",
        "reviewed_by",
    )
    list_filter = (
        "status",
        "held_reason",
        "no_reward_reason",
        "created_at",
        ("verified_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("inviter__email", "invitee__email", "=signup_ip", "=signup_network")
    list_select_related = ("inviter", "invitee", "reviewed_by")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("approve_referrals", "deny_referrals")
    fields = (
        "invitee",
        "inviter",
        "created_at",
        "signup_ip",
        "signup_network",
        "status",
        "held_reason",
        "hold_evidence",
        "reviewed_by",
        "reviewed_at",
        "verified_at",
        "rewarded_at",
        "no_reward_reason",
        "signup_points",
        "first_order_reference",
        "first_order_available_at",
        "first_order_points",
        "first_order_withdrawn_at",
    )

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("accounts.review_referral")

    @admin.display(description=_("evidence of the hold"))
    def shown_hold_evidence(self, referral: Referral) -> str:
        return _evidence_text(referral.hold_evidence) or "—"

    def _review(self, request, queryset, service, done_message) -> int:
        """Run ``service`` on each selected referral; refusals are listed, the rest counted.

        Nobody reviews an invitation they are part of: approving pays both sides.
        """
        return apply_to_selected(
            self,
            request,
            queryset.order_by("pk").values_list("pk", "inviter_id", "invitee_id"),
            lambda row: service(referral_id=row[0], reviewer_id=request.user.pk),
            refuse=lambda row: (
                _("you are part of this invitation; another operator must review it.")
                if request.user.pk in row[1:]
                else None
            ),
            refused_message=lambda row, reason: f"#{row[0]}: {reason}",
            done_message=done_message,
            level=messages.WARNING,
        )

    @admin.action(description=_("Approve the selected held referrals (pays their rewards)"), permissions=["review"])
    def approve_referrals(self, request, queryset) -> None:
        self._review(
            request,
            queryset,
            services.referral_approve,
            lambda n: ngettext("%(n)s referral approved.", "%(n)s referrals approved.", n) % {"n": n},
        )

    @admin.action(description=_("Deny the selected referrals (no rewards)"), permissions=["review"])
    def deny_referrals(self, request, queryset) -> None:
        self._review(
            request,
            queryset,
            services.referral_deny,
            lambda n: ngettext("%(n)s referral denied.", "%(n)s referrals denied.", n) % {"n": n},
        )


# A host name in punycode: labels of letters, digits and inner hyphens, at least one dot.
_DOMAIN = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


class EmailProviderRuleForm(forms.ModelForm):
    class Meta:
        model = EmailProviderRule
        fields = ("domain", "ignore_dots", "same_as")

    def _domain(self, name: str) -> str:
        value = rules.normalize_domain(self.cleaned_data.get(name) or "")
        if value and not _DOMAIN.fullmatch(value):
            raise forms.ValidationError(_("Enter a domain name such as gmail.com, without @ or spaces."))
        return value

    def clean_domain(self) -> str:
        return self._domain("domain")

    def clean_same_as(self) -> str:
        return self._domain("same_as")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("same_as") and data.get("same_as") == data.get("domain"):
            self.add_error("same_as", _("A domain cannot be the same mailboxes as itself; leave this empty."))
        return data


class EmailProviderRuleInline(admin.TabularInline):
    model = EmailProviderRule
    form = EmailProviderRuleForm
    fields = ("domain", "ignore_dots", "same_as")
    extra = 0


@admin.register(IdentityPolicy)
class IdentityPolicyAdmin(SingletonAdminMixin, SimpleHistoryAdmin):
    """One row, pk=1, made by a migration: how addresses that reach one mailbox are one person.

    Changes apply to claims made from then on; what was claimed before keeps its hashes."""

    list_display = ("__str__", "ignore_plus_tags")
    fields = ("ignore_plus_tags",)
    inlines = (EmailProviderRuleInline,)


@admin.register(Delivery)
class DeliveryAdmin(MemberSearchMixin, ReadOnlyAdmin):
    """Deliveries are written by the services; operators may send failed ones again (and those
    skipped for a missing address) with "Send again" (permission ``resend_delivery``)."""

    list_display = ("notification", "user", "channel", "status", "reason", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "channel", "reason", "created_at")
    search_fields = ("notification__user__email", "notification__message_code", "last_error")
    list_select_related = ("notification", "notification__user")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    actions = ("send_again",)
    fields = (
        "notification",
        "channel",
        "status",
        "reason",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    )

    @admin.display(description=_("member"), ordering="notification__user__email")
    def user(self, delivery: Delivery) -> str:
        return str(delivery.notification.user)

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("accounts.resend_delivery")

    @admin.action(
        description=_("Send again (failed, or skipped for a missing address; never one already sent)"),
        permissions=["resend"],
    )
    def send_again(self, request, queryset) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        queued = services.deliveries_resend(delivery_ids=selected)
        if queued:
            self.message_user(
                request,
                ngettext(
                    "%(n)s delivery queued to be sent again now.",
                    "%(n)s deliveries queued to be sent again now.",
                    queued,
                )
                % {"n": queued},
                messages.SUCCESS,
            )
        if len(selected) > queued:
            self.message_user(
                request,
                ngettext(
                    "%(n)s selected delivery was left alone: only failed ones, and ones skipped for a missing "
                    "address, are sent again.",
                    "%(n)s selected deliveries were left alone: only failed ones, and ones skipped for a missing "
                    "address, are sent again.",
                    len(selected) - queued,
                )
                % {"n": len(selected) - queued},
                messages.WARNING,
            )


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "channel", "enabled", "updated_at")
    list_filter = ("kind", "channel", "enabled")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    ordering = ("user", "kind", "channel")
    fields = ("user", "kind", "channel", "enabled", "updated_at")


TEMPLATE_FIELDS = ("email_subject", "email_body", "sms_text")


# The member name of a trial render when no real message of the code exists yet: a realistic
# name, not a placeholder a template could test for.
SAMPLE_MEMBER_NAME = "Li Lei"


def _sample_params(message_code: str) -> dict:
    """The parameters a trial render uses: the last real message of the code's, else the
    sample its app registered (``points.notices.register(..., sample=...)``), else none."""
    last = Notification.objects.filter(message_code=message_code).order_by("-pk").values_list("params", flat=True)
    params = last.first()
    if params is not None:
        return dict(params)
    return notices.inbox_sample(message_code) or {}


def _sample_context(message_code: str, language: str) -> dict:
    """The context a trial render uses, rendered in ``language``: the last message sent with the
    code, else the code's registered sample parameters with a realistic member name and link
    (docs/decisions/0029). A template that behaves differently for other parameters is still
    caught at send time: the built-in text is sent and the delivery says why."""
    last = Notification.objects.filter(message_code=message_code).select_related("user").order_by("-pk").first()
    with translation.override(language):
        if last is not None:
            return message_context(last)
        params = _sample_params(message_code)
        text = notices.render(message_code, params)
        return {
            **params,
            "title": text.title if text else message_code,
            "body": text.body if text else "",
            "link": f"{settings.MALL_URL_SCHEME}://{settings.MALL_DOMAIN}/",
            "mall_name": settings.MALL_NAME or str(_("Points Mall")),
            "member_name": SAMPLE_MEMBER_NAME,
            "params": params,
        }


# How much of a message's body the picker shows after a title several codes share.
PICKER_BODY_CHARS = 40


def _code_choices() -> list[tuple[str, str]]:
    """The message codes sent as inbox messages, each labelled with its title (rendered from the
    last real message's parameters, else its sample) and the code; a title several codes share
    is followed by the start of each one's body."""
    codes = notices.inbox_codes()
    # The newest message of each code: Max(pk) per code, not DISTINCT ON (Postgres only; the
    # demo and the README's test command run on SQLite).
    newest = (
        Notification.objects.filter(message_code__in=codes)
        .values("message_code")
        .annotate(newest=Max("pk"))
        .values_list("newest", flat=True)
    )
    last = dict(Notification.objects.filter(pk__in=list(newest)).values_list("message_code", "params"))
    texts = {}
    for code in codes:
        params = last.get(code)
        if params is None:
            params = notices.inbox_sample(code)
        texts[code] = notices.render(code, params) if params is not None else None
    titles = Counter(text.title for text in texts.values() if text)
    choices = []
    for code, text in texts.items():
        if not text:
            choices.append((code, code))
            continue
        label = text.title
        if titles[label] > 1 and text.body:
            # Several codes open alike ("Your friend Li Lei joined"): their first words tell them apart.
            label = f"{label} – {Truncator(' '.join(text.body.split())).chars(PICKER_BODY_CHARS)}"
        choices.append((code, f"{label} ({code})"))
    return choices


class MessageTemplateForm(forms.ModelForm):
    message_code = forms.ChoiceField(
        label=_("message code"),
        help_text=_("Only the codes the mall sends as messages (e-mail, SMS, inbox) are listed."),
    )

    class Meta:
        model = MessageTemplate
        fields = ("message_code", "language", *TEMPLATE_FIELDS)
        help_texts = {
            "email_body": _(
                "Django template syntax. Available: {{ title }}, {{ body }} (the built-in text), {{ link }}, "
                "{{ mall_name }}, {{ member_name }} and the message's parameters. Leave blank to use the built-in text."
            ),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        code_field = self.fields["message_code"]
        assert isinstance(code_field, forms.ChoiceField)
        choices = _code_choices()
        current = self.instance.message_code if self.instance.pk else ""
        if current and current not in dict(choices):
            choices.append((current, current))  # a template of a code no longer sent stays editable
        code_field.choices = choices
        if current:
            params = sorted(_sample_params(current))
            if params:
                code_field.help_text = format_lazy(
                    "{} {}",
                    code_field.help_text,
                    _("Parameters of this code: %(names)s.") % {"names": ", ".join(f"{{{{ {p} }}}}" for p in params)},
                )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        code, language = cleaned.get("message_code"), cleaned.get("language")
        if not code or not language:
            return cleaned
        context = _sample_context(code, language)
        for field in TEMPLATE_FIELDS:
            source = cleaned.get(field) or ""
            if not source:
                continue
            try:
                message_templates.render_text(source, context, max_chars=message_templates.MAX_CHARS[field])
            except message_templates.TemplateTextError as error:
                self.add_error(
                    field,
                    forms.ValidationError(
                        _("This template cannot be used: %(error)s"), code="bad_template", params={"error": error}
                    ),
                )
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(SimpleHistoryAdmin):
    form = MessageTemplateForm
    list_display = ("message_code", "language", "email_subject", "updated_at")
    list_filter = ("language",)
    search_fields = ("message_code", "email_subject", "email_body", "sms_text")
    ordering = ("message_code", "language")
