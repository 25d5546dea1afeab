from django.contrib import admin

from pointsmall.kernel.admin import ReadOnlyAdmin
from pointsmall.outbox.models import OutboxJob


@admin.register(OutboxJob)
class OutboxJobAdmin(ReadOnlyAdmin):
    """What is held for the broker (``sent`` empty), what went out and whether it ran (``done``);
    written by the outbox only."""

    list_display = ["pk", "task", "created_at", "attempts", "next_attempt_at", "sent_at", "done_at", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), ("done_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task", "request_id"]
    date_hierarchy = "created_at"
