"""Admin pieces every app's back office shares: read-only rows and "apply to each selected row".

Rows that only an app's services write (ledger entries, orders' history, referrals) are shown
read-only; the admin changes them only through actions that call a service per row, where one
refused row is reported and the others still go through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest

from pointsmall.kernel.errors import DomainError

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
