"""Read-only lists of the privilege changes and of the admin's own log (docs/decisions/0053).

Audit records are never added, changed or deleted in the admin, superusers included
(``ReadOnlyAdmin``); tests/audit/test_read_only.py walks every registered admin to hold it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pointsmall.audit.models import PiiReveal, PrivilegeChange
from pointsmall.kernel.admin import ReadOnlyAdmin


@admin.register(PrivilegeChange)
class PrivilegeChangeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subject", "field", "old", "new", "actor")
    list_filter = ("field",)
    list_select_related = ("actor",)
    search_fields = ("subject",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_actions(self, request: HttpRequest) -> dict:
        return {}


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ("action_time", "user", "content_type", "object_repr", "action_flag", "message")
    list_filter = ("action_flag", "content_type")
    list_select_related = ("user", "content_type")
    search_fields = ("object_repr", "change_message")
    date_hierarchy = "action_time"
    show_full_result_count = False

    def get_actions(self, request: HttpRequest) -> dict:
        return {}

    @admin.display(description=_("change message"))
    def message(self, entry: LogEntry) -> str:
        return entry.get_change_message()


@admin.register(PiiReveal)
class PiiRevealAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "target", "object_id", "fields", "reason")
    list_filter = ("target",)
    list_select_related = ("actor",)
    search_fields = ("reason", "object_id")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_actions(self, request: HttpRequest) -> dict:
        return {}
