"""Admin pieces every app's back office shares: read-only rows and "apply to each selected row".

Rows that only an app's services write (ledger entries, orders' history, referrals) are shown
read-only; the admin changes them only through actions that call a service per row, where one
refused row is reported and the others still go through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.ratelimit import rate_hit

Row = TypeVar("Row")

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
else:
    _ModelAdmin = admin.ModelAdmin
    _TabularInline = admin.TabularInline


class ReadOnlyMixin:
    """No add, change or delete in the admin: the rows are written by the app's services only."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, _ModelAdmin):
    """A ModelAdmin to look at rows written by services only; staff look, never touch."""


class ReadOnlyInline(ReadOnlyMixin, _TabularInline):
    """A tabular inline of service-written rows: no empty extra rows, no delete boxes, no links."""

    extra = 0
    can_delete = False
    show_change_link = False


class SingletonAdminMixin:
    """The one-row policy tables (``pointsmall.kernel.singleton``): edited, never added or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def apply_to_selected(
    modeladmin: _ModelAdmin,
    request: HttpRequest,
    rows: Iterable[Row],
    action: Callable[[Row], object],
    *,
    refusals: tuple[type[Exception], ...] = (DomainError,),
    refused_message: Callable[[Row, str], str],
    done_message: Callable[[int], str] | None = None,
    refuse: Callable[[Row], str | None] | None = None,
    level: int = messages.ERROR,
) -> int:
    """Run ``action(row)`` for each row in turn; return how many went through.

    A row is refused, with one admin message ``refused_message(row, reason)`` at ``level``,
    when ``refuse(row)`` gives a reason (checked first: e.g. staff acting on their own order)
    or when ``action`` raises one of ``refusals`` (its ``message``, else ``str(error)``); the
    other rows still go through. Any other exception propagates. When at least one row went
    through and ``done_message`` is given, one SUCCESS message ``done_message(done)`` follows.

    ``refusals`` defaults to the kernel's ``DomainError``, the base of every app's refusals;
    pass a narrower tuple only to let some refusals propagate. Each ``action`` owns its own
    transaction, so a refusal undoes that row only. Takes no lock itself.
    """
    done = 0
    for row in rows:
        reason = refuse(row) if refuse is not None else None
        if reason is None:
            try:
                action(row)
            except refusals as error:
                reason = str(getattr(error, "message", error))
            else:
                done += 1
                continue
        modeladmin.message_user(request, refused_message(row, reason), level)
    if done and done_message is not None:
        modeladmin.message_user(request, done_message(done), messages.SUCCESS)
    return done


class MemberSearchMixin:
    """Search a big table by member e-mail through the member's id, not an ILIKE join.

    Django's default search turns ``account__user__email`` into ``UPPER(email) LIKE '%…%'``
    over a join with every row of the table (a linear scan of the ledger: seconds at 150k
    entries). Here the e-mail field of ``search_fields`` (``<path>__email``) is resolved on
    the small users table first, then the big table is filtered on its own indexed foreign
    key: ``member_id IN (…)``, or ``account_id IN (…)`` for a path through one more table.

    A term with "@" is an e-mail or the start of one ("alice@" finds alice@example.com;
    case-insensitive; a complete address finds itself). Any other term searches
    the table's other search fields as usual; on a table with none, it matches e-mails that
    start with it. Put the mixin before the ModelAdmin class.
    """

    member_search_limit = 500  # members a prefix may match; a wider prefix is no search

    def _member_path(self) -> str | None:
        fields = [f for f in getattr(self, "search_fields", ()) if f.endswith("__email")]
        return fields[0].removesuffix("__email") if fields else None

    def _member_filter(self, users: Any) -> dict[str, Any]:
        path = self._member_path()
        assert path is not None
        user_ids = list(users.values_list("pk", flat=True)[: self.member_search_limit])
        first, _sep, rest = path.partition("__")
        if not rest:
            return {f"{first}_id__in": user_ids}
        # One table between (the points account, the notification, the order): its ids first.
        related = self.model._meta.get_field(first).related_model  # type: ignore[attr-defined]
        ids = list(related.objects.filter(**{f"{rest}_id__in": user_ids}).values_list("pk", flat=True))
        return {f"{first}_id__in": ids}

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        fields = tuple(super().get_search_fields(request))  # type: ignore[misc]
        if getattr(request, "_member_search", False):  # the other fields, while searching (per request)
            return tuple(f for f in fields if not f.endswith("__email"))
        return fields

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        from django.contrib.auth import get_user_model

        term = search_term.strip()
        path = self._member_path()
        if not term or path is None:
            return cast(tuple[Any, bool], super().get_search_results(request, queryset, search_term))  # type: ignore[misc]
        users = get_user_model().objects.order_by("pk")
        if "@" in term:
            found: tuple[Any, bool] = (
                queryset.filter(**self._member_filter(users.filter(email__istartswith=term))),
                False,
            )
            return found
        request._member_search = True  # type: ignore[attr-defined]
        try:
            if not self.get_search_fields(request):
                started: tuple[Any, bool] = (
                    queryset.filter(**self._member_filter(users.filter(email__istartswith=term))),
                    False,
                )
                return started
            return cast(tuple[Any, bool], super().get_search_results(request, queryset, search_term))  # type: ignore[misc]
        finally:
            request._member_search = False  # type: ignore[attr-defined]


class ContactRevealMixin:
    """A change page whose record holds a member's contact data (masked on the page, decision
    0057). The page's title and breadcrumb show ``masked_repr(obj)``, not ``str(obj)``; staff who
    may unmask get a "Show full contact data" tool (``pii_reveal_url``), which asks for a reason
    and records the reveal. Others get no link (it would end in a 403). The change form template
    extends ``admin/masked_change_form.html``."""

    # The record's masked fields. The list refuses a query-string lookup on them
    # (``?phone__startswith=139``, a 400): each guess would answer yes or no and spell the value out.
    masked_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in self.masked_fields:
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc,no-any-return]

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # The admin's autocomplete answers with str(obj), unmasked (a member's full e-mail address):
        # no search there makes it a 404. No form picks these records by autocomplete.
        match = request.resolver_match
        if match is not None and match.url_name == "autocomplete":
            return ()
        return tuple(super().get_search_fields(request))  # type: ignore[misc]

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        # Each search of these lists answers "is there a member with this exact phone?": counted per
        # staff member, so the four masked digits cannot be guessed in an afternoon (10,000 tries).
        if search_term.strip():
            rate_hit(request, group="admin.contact_search", key="user", rate=settings.ADMIN_CONTACT_SEARCH_RATE_LIMIT)
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc,no-any-return]

    def masked_repr(self, obj: Any) -> str:
        from pointsmall.kernel.masking import mask_contacts_in

        return mask_contacts_in(str(obj))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Model | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["subtitle"] = context["masked_original"] = self.masked_repr(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[misc,no-any-return]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from pointsmall.kernel.pii import may_unmask

        extra_context = dict(extra_context or {})
        if may_unmask(request.user) and str(object_id).isdigit():
            meta = self.model._meta  # type: ignore[attr-defined]
            extra_context["pii_reveal_url"] = reverse("audit:reveal", args=[meta.app_label, meta.model_name, object_id])
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc,no-any-return]
